"""Repositories: each owns one domain's queries, bound to the session of one transaction.

`Repositories` bundles them for a unit of work, as pypi/warehouse binds a service to a request's
session: use cases ask it for rows and never write SQL themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from persistence.repositories.catalog import ChannelRepository, VideoRepository
from persistence.repositories.distributions import DistributionRepository
from persistence.repositories.keyset import Page
from persistence.repositories.metrics import MetricsQueries
from persistence.repositories.missed import MissedSlotRepository
from persistence.repositories.planner_lock import PlannerLock, PlannerLockTimeout
from persistence.repositories.quotas import PoolView, QuotaRepository
from persistence.repositories.records import (
    DecisionRepository,
    RunRepository,
    StoredResponseRepository,
)
from persistence.repositories.wide_reads import WideReads

__all__ = [
    "ChannelRepository",
    "DecisionRepository",
    "DistributionRepository",
    "MissedSlotRepository",
    "Page",
    "PlannerLock",
    "PlannerLockTimeout",
    "PoolView",
    "QuotaRepository",
    "Repositories",
    "RunRepository",
    "StoredResponseRepository",
    "VideoRepository",
    "WideReads",
]


@dataclass(frozen=True)
class Repositories:
    """Every repository, bound to one transaction's session."""

    channels: ChannelRepository
    videos: VideoRepository
    distributions: DistributionRepository
    decisions: DecisionRepository
    runs: RunRepository
    responses: StoredResponseRepository
    planner_lock: PlannerLock
    metrics: MetricsQueries
    missed: MissedSlotRepository
    wide: WideReads
    quotas: QuotaRepository
    _session: Session

    @classmethod
    def bind(
        cls, session: Session, dialect: str, audit: Mapping[str, str] | None = None
    ) -> Repositories:
        """The repositories of `session` (on a database of `dialect`); `audit` goes into the
        details of every decision recorded through them."""
        return cls(
            channels=ChannelRepository(session),
            videos=VideoRepository(session),
            distributions=DistributionRepository(session),
            decisions=DecisionRepository(session, audit or {}),
            runs=RunRepository(session),
            responses=StoredResponseRepository(session),
            planner_lock=PlannerLock(session, dialect),
            metrics=MetricsQueries(session),
            missed=MissedSlotRepository(session),
            wide=WideReads(session),
            quotas=QuotaRepository(session, dialect),
            _session=session,
        )

    def flush(self) -> None:
        """Sends pending changes to the database (ids, constraint checks) before the commit."""
        self._session.flush()
