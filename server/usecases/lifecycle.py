"""The distribution lifecycle: the one table of allowed transitions and the one way to create.

    (new) --create--> SCHEDULED --lease--> PUBLISHING --published--> PUBLISHED
                       ^  |                 |--retry later (backoff, channel down)--> SCHEDULED
                       |  |                 |--give up (not retryable, no attempts)--> FAILED
                       |  |                 \\--lease again (expired: outcome unknown)
                       |  \\--cancel--> CANCELLED        (ASSIGNED --cancel--> CANCELLED too)
                       \\------------------- operator retry <------------------------- FAILED

Pure: no database, no gRPC. Use cases move a distribution only through `apply`, so a state
change that the table does not allow is refused in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from persistence.base import utcnow
from persistence.enums import DistributionMethod, DistributionState
from persistence.models import Distribution
from server.usecases.random_ids import uuid4_texts

S = DistributionState


class Event(StrEnum):
    """What happens to a distribution."""

    LEASE = "LEASE"
    PUBLISHED = "PUBLISHED"
    RETRY_LATER = "RETRY_LATER"
    GIVE_UP = "GIVE_UP"
    CANCEL = "CANCEL"
    OPERATOR_RETRY = "OPERATOR_RETRY"


#: (state, event) -> the state it leads to. Anything missing is not allowed.
TRANSITIONS: Mapping[tuple[DistributionState, Event], DistributionState] = {
    (S.SCHEDULED, Event.LEASE): S.PUBLISHING,
    # An expired lease is leased again: its earlier outcome is unknown.
    (S.PUBLISHING, Event.LEASE): S.PUBLISHING,
    (S.PUBLISHING, Event.PUBLISHED): S.PUBLISHED,
    (S.PUBLISHING, Event.RETRY_LATER): S.SCHEDULED,
    (S.PUBLISHING, Event.GIVE_UP): S.FAILED,
    (S.ASSIGNED, Event.CANCEL): S.CANCELLED,
    (S.SCHEDULED, Event.CANCEL): S.CANCELLED,
    (S.FAILED, Event.OPERATOR_RETRY): S.SCHEDULED,
}


class IllegalTransition(Exception):
    """The lifecycle does not allow `event` in `state`."""

    def __init__(self, state: DistributionState, event: Event) -> None:
        super().__init__(f"{event.value} is not allowed in state {state.value}")
        self.state = state
        self.event = event


def allowed(state: DistributionState, event: Event) -> bool:
    """Whether `event` may happen to a distribution in `state`."""
    return (state, event) in TRANSITIONS


def states_allowing(event: Event) -> list[DistributionState]:
    """The states in which `event` may happen, in lifecycle order."""
    return [state for state in DistributionState if allowed(state, event)]


def apply(distribution: Distribution, event: Event) -> DistributionState:
    """Moves `distribution` by `event`; raises IllegalTransition when the table forbids it."""
    target = TRANSITIONS.get((distribution.state, event))
    if target is None:
        raise IllegalTransition(distribution.state, event)
    distribution.state = target
    return target


def new_distribution(
    *,
    video_id: str,
    channel_id: str,
    source_url: str,
    method: DistributionMethod,
    scheduled_at: datetime,
    score: int,
    reason: str,
    details: dict[str, Any],
    transformations: Sequence[dict[str, Any]],
    max_attempts: int,
    actor: str,
    run_id: str | None = None,
    duplicate_override: bool = False,
    now: datetime | None = None,
    slot_weight: float = 1.0,
) -> dict[str, Any]:
    """The column values of a new SCHEDULED distribution: the only way one is made.

    Values, not a row, so that a plan of thousands is inserted in one bulk statement.
    """
    return {
        "id": str(uuid.uuid4()),
        "video_id": video_id,
        "channel_id": channel_id,
        "source_url": source_url,
        "scheduled_at": scheduled_at,
        "score": score,
        "reason": reason,
        "details": details,
        "transformations": list(transformations),
        "slot_weight": slot_weight,
        "max_attempts": max_attempts,
        **_created(method, actor, run_id, duplicate_override, now or utcnow()),
    }


class PlannedValues(NamedTuple):
    """What differs between the distributions of one plan (see `new_distributions`)."""

    video_id: str
    channel_id: str
    source_url: str
    scheduled_at: datetime
    score: int
    reason: str
    details: dict[str, Any]
    transformations: list[dict[str, Any]]
    max_attempts: int
    slot_weight: float = 1.0


def new_distributions(
    values: Iterable[PlannedValues],
    *,
    method: DistributionMethod,
    actor: str,
    run_id: str | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """`new_distribution` for a whole plan: the columns every row shares are built once."""
    common = _created(method, actor, run_id, False, now)
    fields = PlannedValues._fields
    rows = list(values)
    return [
        {"id": row_id, **dict(zip(fields, v, strict=True)), **common}
        for row_id, v in zip(uuid4_texts(len(rows)), rows, strict=True)
    ]


def _created(
    method: DistributionMethod,
    actor: str,
    run_id: str | None,
    duplicate_override: bool,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a new distribution that do not depend on its video, channel or slot."""
    return {
        "method": method,
        "state": S.SCHEDULED,
        "attempts": 0,
        "last_error": "",
        "unconfirmed": False,
        "external_id": "",
        "external_url": "",
        "run_id": run_id,
        "actor": actor,
        "duplicate_override": duplicate_override,
        "create_time": now,
        "update_time": now,
    }
