"""Domain metrics, counted by the database: one snapshot for the Prometheus collector.

Every figure is an aggregate computed in SQL (COUNT, MIN, SUM(CASE ...)), never a loop over
rows, so a snapshot costs a handful of small queries whatever the size of the tables. The same
queries run on SQLite and PostgreSQL. Because the figures come from the shared database, every
replica reports the same values: aggregate them across replicas with max(), not sum().

Run it in one read-only transaction::

    snapshot = db.transaction(lambda s: MetricsQueries(s).snapshot(now), readonly=True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from persistence import models
from persistence.enums import DecisionKind, DistributionState
from persistence.repositories.distributions import leasable_channel, scheduled_due

D = models.Distribution
C = models.Channel
R = models.Run
Dec = models.Decision

#: Upper bounds (seconds) of the buckets of `vdist_autodistribute_run_seconds`.
RUN_SECONDS_BUCKETS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
#: Upper bounds of the buckets of `vdist_autodistribute_gap` (relative gap, 0 = proven optimal).
GAP_BUCKETS: tuple[float, ...] = (0.0, 0.0001, 0.001, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)

#: The `result` label of `vdist_publication_outcomes_total` -> the decision kind it counts.
OUTCOME_KINDS: dict[str, DecisionKind] = {
    "published": DecisionKind.PUBLISHED,
    "retry_scheduled": DecisionKind.RETRY_SCHEDULED,
    "gave_up": DecisionKind.GAVE_UP,
    "lease_expired": DecisionKind.LEASE_EXPIRED,
    "late_published": DecisionKind.LATE_PUBLISHED,
}


@dataclass(frozen=True)
class HistogramCounts:
    """A histogram computed in SQL: cumulative counts per upper bound, the sum and the count."""

    #: (upper bound, observations <= bound), ascending; the +Inf bucket is `count`.
    buckets: tuple[tuple[float, int], ...]
    sum: float
    count: int


@dataclass(frozen=True)
class MetricsSnapshot:
    """The domain figures at one instant (see MetricsQueries.snapshot)."""

    #: Distributions per state, every state present (0 included).
    distributions: dict[str, int]
    #: SCHEDULED publications a worker could lease right now.
    publications_due: int
    #: Seconds since the scheduled time of the oldest due publication (0 when none is due).
    publications_due_oldest_age_seconds: float
    #: Distributions whose publication outcome is unknown (unconfirmed = true).
    leases_unconfirmed: int
    #: Channels not available now (available = false and no outage end in the past).
    channels_unavailable: int
    #: AutoDistribute runs per solver status.
    runs_by_solver_status: dict[str, int]
    #: runs.wall_seconds over RUN_SECONDS_BUCKETS.
    run_seconds: HistogramCounts
    #: runs.gap over GAP_BUCKETS.
    run_gap: HistogramCounts
    #: Publication outcomes (decisions) per result label of OUTCOME_KINDS, every label present.
    publication_outcomes: dict[str, int]


class MetricsQueries:
    """Aggregates for the metrics endpoint, bound to one (read-only) session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def snapshot(self, now: datetime) -> MetricsSnapshot:
        """Every domain figure at `now` (timezone-aware UTC)."""
        due_count, oldest_age = self.publications_due(now)
        return MetricsSnapshot(
            distributions=self.distributions_by_state(),
            publications_due=due_count,
            publications_due_oldest_age_seconds=oldest_age,
            leases_unconfirmed=self.leases_unconfirmed(),
            channels_unavailable=self.channels_unavailable(now),
            runs_by_solver_status=self.runs_by_solver_status(),
            run_seconds=self.histogram(R.wall_seconds, RUN_SECONDS_BUCKETS),
            run_gap=self.histogram(R.gap, GAP_BUCKETS),
            publication_outcomes=self.publication_outcomes(),
        )

    def distributions_by_state(self) -> dict[str, int]:
        """Distributions per state; states without any count 0."""
        rows = self._session.execute(select(D.state, func.count()).group_by(D.state)).all()
        counted = {str(state): int(n) for state, n in rows}
        return {s.value: counted.get(s.value, 0) for s in DistributionState}

    def publications_due(self, now: datetime, channel_ids: Sequence[str] = ()) -> tuple[int, float]:
        """(how many, age in seconds of the oldest) SCHEDULED publications are due at `now`
        (on `channel_ids`, or every channel when empty).

        Due as in DistributionRepository.claim_due without lookahead: SCHEDULED at or before
        now, past any backoff (next_attempt_at null or <= now), on a channel that may publish
        (`leasable_channel`: work held by a quota pool reported full is not due).
        """
        query = (
            select(func.count(), func.min(D.scheduled_at))
            .select_from(D)
            .join(C, C.id == D.channel_id)
            .where(scheduled_due(now, now), leasable_channel(now))
        )
        if channel_ids:
            query = query.where(D.channel_id.in_(channel_ids))
        count, oldest = self._session.execute(query).one()
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return int(count), age

    def leases_unconfirmed(self) -> int:
        """Distributions whose last publication outcome is unknown."""
        return int(
            self._session.scalar(select(func.count()).select_from(D).where(D.unconfirmed.is_(True)))
            or 0
        )

    def channels_unavailable(self, now: datetime) -> int:
        """Channels not available at `now`: unavailable with no end, or an end still ahead."""
        query = (
            select(func.count())
            .select_from(C)
            .where(
                C.available.is_(False),
                or_(C.unavailable_until.is_(None), C.unavailable_until > now),
            )
        )
        return int(self._session.scalar(query) or 0)

    def runs_by_solver_status(self) -> dict[str, int]:
        """AutoDistribute runs per solver status (only statuses that occur)."""
        rows = self._session.execute(
            select(R.solver_status, func.count()).group_by(R.solver_status)
        ).all()
        return {str(status): int(n) for status, n in rows}

    def histogram(
        self, column: InstrumentedAttribute[float], bounds: Sequence[float]
    ) -> HistogramCounts:
        """Cumulative bucket counts of a runs column over `bounds`, with its sum and count."""
        bucket_columns = [func.sum(case((column <= bound, 1), else_=0)) for bound in bounds]
        row = self._session.execute(
            select(func.count(), func.coalesce(func.sum(column), 0.0), *bucket_columns).select_from(
                R
            )
        ).one()
        count = int(row[0])
        return HistogramCounts(
            buckets=tuple(
                (float(bound), int(n or 0)) for bound, n in zip(bounds, row[2:], strict=True)
            ),
            sum=float(row[1] or 0.0),
            count=count,
        )

    def publication_outcomes(self) -> dict[str, int]:
        """Decisions per publication outcome label (OUTCOME_KINDS), every label present."""
        kinds = list(OUTCOME_KINDS.values())
        rows = self._session.execute(
            select(Dec.kind, func.count()).where(Dec.kind.in_(kinds)).group_by(Dec.kind)
        ).all()
        counted = {str(kind): int(n) for kind, n in rows}
        return {label: counted.get(kind.value, 0) for label, kind in OUTCOME_KINDS.items()}
