"""Publications whose slot passed without a lease: the sweep's claim, and the late releases
already set on a channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from persistence import models
from persistence.enums import DistributionState

D = models.Distribution


class MissedSlotRepository:
    """The missed-slot queries, bound to one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim_past(self, now: datetime, limit: int) -> list[models.Distribution]:
        """Up to `limit` SCHEDULED publications past their slot, never leased or retried (no
        next attempt set), oldest first, locked: SKIP LOCKED hands each to one replica."""
        query = (
            select(D)
            .where(
                D.state == DistributionState.SCHEDULED,
                D.scheduled_at < now,
                D.lease_token.is_(None),
                D.next_attempt_at.is_(None),
            )
            .order_by(D.scheduled_at, D.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self._session.scalars(query))

    def last_late_release(self, channel_id: str, now: datetime) -> datetime | None:
        """The latest release time already set for a late publication of the channel."""
        return self._session.scalar(
            select(func.max(D.next_attempt_at)).where(
                D.channel_id == channel_id,
                D.state == DistributionState.SCHEDULED,
                D.attempts == 0,
                D.scheduled_at < now,
                D.next_attempt_at >= now,
            )
        )
