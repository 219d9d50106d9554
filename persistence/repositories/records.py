"""The audit trail, AutoDistribute runs and stored responses of idempotent calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Required, TypedDict, Unpack, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, undefer

from persistence import bulk, models
from persistence.base import utcnow
from persistence.enums import DecisionKind, DistributionMethod, RunState
from persistence.repositories.distributions import in_scope
from persistence.repositories.keyset import Page, keyset_page

D = models.Distribution
Dec = models.Decision


class StoredAnswer(NamedTuple):
    """A stored response and the hash of the request it answered."""

    request_hash: str
    response: bytes


# Built once: single-row statements of every mutating call, compiled from SQLAlchemy's cache.
_INSERT_DECISION = insert(cast(Table, Dec.__table__))
_INSERT_STORED = insert(cast(Table, models.StoredResponse.__table__))
_STORED_ANSWER = select(models.StoredResponse.request_hash, models.StoredResponse.response).where(
    models.StoredResponse.method == bindparam("method"),
    models.StoredResponse.request_id == bindparam("request_id"),
)


class DecisionFields(TypedDict, total=False):
    """What a decision records besides its kind: `reason` and `actor` always."""

    reason: Required[str]
    actor: Required[str]
    video_id: str | None
    channel_id: str | None
    distribution_id: str | None
    method: DistributionMethod | None
    run_id: str | None
    details: dict[str, Any] | None


class DecisionRepository:
    """The append-only decisions table, bound to one session; `audit` (e.g. on_behalf_of) is
    added to the details of every decision recorded through it."""

    def __init__(self, session: Session, audit: Mapping[str, str] | None = None) -> None:
        self._session = session
        self._audit = dict(audit or {})

    def record(self, kind: DecisionKind, **fields: Unpack[DecisionFields]) -> None:
        """Writes a decision in the transaction: it commits with the change it describes or
        not at all (invariant 3). One INSERT, no unit of work."""
        self._session.connection().execute(_INSERT_DECISION, self.values(kind, **fields))

    def values(self, kind: DecisionKind, **fields: Unpack[DecisionFields]) -> dict[str, Any]:
        """The column values of a decision as `record` writes it, recorded now (the fields
        left out are None, the details get the audit entries)."""
        return {
            "time": utcnow(),
            "kind": kind,
            "reason": fields["reason"],
            "actor": fields["actor"],
            "video_id": fields.get("video_id"),
            "channel_id": fields.get("channel_id"),
            "distribution_id": fields.get("distribution_id"),
            "method": fields.get("method"),
            "run_id": fields.get("run_id"),
            "details": {**(fields.get("details") or {}), **self._audit},
        }

    def values_for(
        self,
        distribution: Mapping[str, Any],
        kind: DecisionKind,
        *,
        reason: str,
        actor: str,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`values` of a decision about the distribution of column values `distribution`."""
        return self.values(
            kind,
            reason=reason,
            actor=actor,
            video_id=distribution["video_id"],
            channel_id=distribution["channel_id"],
            distribution_id=distribution["id"],
            method=distribution["method"],
            run_id=distribution.get("run_id"),
            details=details,
        )

    def record_for(
        self,
        distribution: models.Distribution,
        kind: DecisionKind,
        *,
        reason: str,
        actor: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Writes a decision about `distribution` (its video, channel, method and run)."""
        self.record(
            kind,
            reason=reason,
            actor=actor,
            video_id=distribution.video_id,
            channel_id=distribution.channel_id,
            distribution_id=distribution.id,
            method=distribution.method,
            run_id=distribution.run_id,
            details=details,
        )

    def insert_many(self, values: Sequence[Mapping[str, Any]]) -> None:
        """Inserts many decisions (column values, every row with the same keys) in the
        transaction: COPY on PostgreSQL, executemany on SQLite."""
        if values and self._audit:
            values = [{**v, "details": {**v.get("details", {}), **self._audit}} for v in values]
        bulk.insert(self._session, Dec, values)

    def page(
        self, equal: Mapping[str, Any], after: Sequence[Any] | None, size: int
    ) -> Page[models.Decision]:
        """Decisions whose columns equal `equal`, newest first, after (time, id)."""
        query = select(Dec).where(*(getattr(Dec, k) == v for k, v in equal.items()))
        return keyset_page(self._session, query, [Dec.time, Dec.id], after, size, descending=True)

    def kind_counts(
        self,
        kinds: Sequence[DecisionKind],
        channel_ids: Sequence[str],
        start: datetime | None,
        end: datetime | None,
    ) -> dict[str, int]:
        """Decisions of `kinds` about distributions in a statistics scope, counted by kind."""
        rows = self._session.execute(
            select(Dec.kind, func.count())
            .join(D, D.id == Dec.distribution_id)
            .where(in_scope(channel_ids, start, end), Dec.kind.in_(kinds))
            .group_by(Dec.kind)
        ).all()
        return {str(kind): int(count) for kind, count in rows}


class RunRepository:
    """The AutoDistribute runs table, bound to one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, run: models.Run) -> None:
        """Adds a run to the transaction."""
        self._session.add(run)

    def get(self, run_id: str) -> models.Run | None:
        """The run, or None."""
        return self._session.get(models.Run, run_id)

    def lock(self, run_id: str) -> models.Run | None:
        """The run with its proposal, row-locked (PostgreSQL), or None."""
        R = models.Run
        query = select(R).where(R.id == run_id).options(undefer(R.proposal)).with_for_update()
        return self._session.scalars(query).first()

    def proposal(self, run_id: str) -> dict[str, Any] | None:
        """A run's stored plan (None: written directly, or no such run)."""
        R = models.Run
        return self._session.scalar(select(R.proposal).where(R.id == run_id))

    def supersede(self, before: datetime) -> int:
        """Marks the proposals made before `before` SUPERSEDED; how many."""
        R = models.Run
        result = self._session.execute(
            update(R)
            .where(R.state == RunState.PROPOSED, R.create_time < before)
            .values(state=RunState.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def page(self, after: Sequence[Any] | None, size: int) -> Page[models.Run]:
        """Runs, newest first, after (create_time, id)."""
        R = models.Run
        return keyset_page(
            self._session, select(R), [R.create_time, R.id], after, size, descending=True
        )


class StoredResponseRepository:
    """Responses of applied calls with a request_id (invariant 6), bound to one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, method: str, request_id: str) -> StoredAnswer | None:
        """The stored response of (method, request_id), or None."""
        row = self._session.execute(
            _STORED_ANSWER, {"method": method, "request_id": request_id}
        ).first()
        return StoredAnswer(row.request_hash, row.response) if row is not None else None

    def add(self, method: str, request_id: str, request_hash: str, response: bytes) -> None:
        """Stores a response in the transaction of the effect it answers; a second one for the
        same (method, request_id) raises IntegrityError here."""
        self._session.connection().execute(
            _INSERT_STORED,
            {
                "method": method,
                "request_id": request_id,
                "request_hash": request_hash,
                "response": response,
            },
        )
