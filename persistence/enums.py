"""The stored vocabularies: distribution states and methods, decision kinds, video states.

Each is a `StrEnum` whose values are exactly the strings the columns hold, so code compares and
assigns members while the stored data stays as it always was (no data migration).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class DistributionState(StrEnum):
    """Where a distribution is in its lifecycle (see server/usecases/lifecycle.py)."""

    ASSIGNED = "ASSIGNED"
    SCHEDULED = "SCHEDULED"
    PUBLISHING = "PUBLISHING"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


#: States that hold a slot and a (video, channel) pair. FAILED and CANCELLED free both.
LIVE_STATES = (
    DistributionState.ASSIGNED,
    DistributionState.SCHEDULED,
    DistributionState.PUBLISHING,
    DistributionState.PUBLISHED,
)


class DistributionMethod(StrEnum):
    """How a distribution was decided."""

    AUTO_FILTER = "AUTO_FILTER"
    AUTO_SCHEDULE = "AUTO_SCHEDULE"
    MANUAL = "MANUAL"


class DecisionKind(StrEnum):
    """What an audit-trail entry records."""

    ASSIGNED = "ASSIGNED"
    REJECTED = "REJECTED"
    OVERRIDE = "OVERRIDE"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"
    LEASED = "LEASED"
    LEASE_EXPIRED = "LEASE_EXPIRED"
    PUBLISHED = "PUBLISHED"
    RETRY_SCHEDULED = "RETRY_SCHEDULED"
    GAVE_UP = "GAVE_UP"
    RETRIED = "RETRIED"
    AVAILABILITY_CHANGED = "AVAILABILITY_CHANGED"
    LATE_PUBLISHED = "LATE_PUBLISHED"
    MOVED = "MOVED"
    DROPPED = "DROPPED"
    MISSED_SLOT_REPLANNED = "MISSED_SLOT_REPLANNED"
    MISSED_SLOT_CANCELLED = "MISSED_SLOT_CANCELLED"
    MISSED_SLOT_LATE = "MISSED_SLOT_LATE"
    QUOTA_EXHAUSTED = "QUOTA_EXHAUSTED"


#: The states a quota pool counts (API.md): what holds or used a publication of the platform.
QUOTA_STATES = (
    DistributionState.SCHEDULED,
    DistributionState.PUBLISHING,
    DistributionState.PUBLISHED,
)


class QuotaWindow(StrEnum):
    """The window a quota pool's limit applies to (allocator.quota_windows kinds)."""

    CALENDAR_DAY = "CALENDAR_DAY"
    ROLLING_24H = "ROLLING_24H"


class RunState(StrEnum):
    """Where an AutoDistribute run stands: a dry run is a PROPOSED plan until applied."""

    PROPOSED = "PROPOSED"
    APPLIED = "APPLIED"
    SUPERSEDED = "SUPERSEDED"
    EXPIRED = "EXPIRED"


class VideoState(StrEnum):
    """Whether a video may be distributed."""

    READY = "READY"
    NOT_READY = "NOT_READY"
    RETIRED = "RETIRED"


class EnumText(TypeDecorator[Any]):
    """A `StrEnum` stored as its value in a VARCHAR column, read back as the member."""

    impl = String
    cache_ok = True

    def __init__(self, enum_type: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self._enum = enum_type

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self._enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self._enum(value)
