"""Reading distributions, decisions and runs, and cancelling a distribution."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from persistence.database import Database
from server import converters
from server.audit import record_for
from server.errors import FailedPrecondition, InvalidArgument, NotFound
from server.paging import PageTokens
from server.validation import (
    CHANNEL_ID,
    DISTRIBUTION_ID,
    VIDEO_ID,
    Violations,
)

R = TypeVar("R")
CANCELLABLE_STATES = ("ASSIGNED", "SCHEDULED")


def get_distribution_row(
    session: Session, distribution_id: str, field: str = "id", *, lock: bool = False
) -> models.Distribution:
    """The distribution (row-locked on PostgreSQL when `lock`), or NotFound naming `field`."""
    query = select(models.Distribution).where(models.Distribution.id == distribution_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("distribution", distribution_id, field=field)
    return row


class _Keyset:
    """Keyset pagination over (time column, id column) in one direction."""

    def __init__(
        self,
        tokens: PageTokens,
        listing: str,
        time_col: InstrumentedAttribute[Any],
        id_col: InstrumentedAttribute[Any],
        *,
        descending: bool,
    ) -> None:
        self._tokens = tokens
        self._listing = listing
        self._time = time_col
        self._id = id_col
        self._desc = descending

    def page(
        self,
        db: Database,
        query: Select[Any],
        filters: dict[str, Any],
        size: int,
        token: str,
        convert: Callable[[Any], R],
    ) -> tuple[list[R], str]:
        cursor = self._tokens.decode(token, self._listing, filters)
        if cursor is not None:
            try:
                after = (datetime.fromisoformat(cursor[0]), cursor[1])
            except (IndexError, TypeError, ValueError):
                raise InvalidArgument.one("page_token", "malformed cursor") from None
            key = tuple_(self._time, self._id)
            query = query.where(key < after if self._desc else key > after)
        order = (self._time.desc(), self._id.desc()) if self._desc else (self._time, self._id)
        query = query.order_by(*order).limit(size + 1)

        def work(session: Session) -> tuple[list[R], list[Any] | None]:
            rows = list(session.scalars(query))
            if len(rows) <= size:
                return [convert(r) for r in rows], None
            rows = rows[:size]
            last = [getattr(rows[-1], self._time.key).isoformat(), getattr(rows[-1], self._id.key)]
            return [convert(r) for r in rows], last

        items, last = db.transaction(work, readonly=True)
        return items, (self._tokens.encode(self._listing, filters, last) if last else "")


class Records:
    """Distributions, decisions and runs."""

    def __init__(self, db: Database, tokens: PageTokens) -> None:
        self._db = db
        self._distributions = _Keyset(
            tokens,
            "distributions",
            models.Distribution.create_time,
            models.Distribution.id,
            descending=False,
        )
        self._decisions = _Keyset(
            tokens, "decisions", models.Decision.time, models.Decision.id, descending=True
        )
        self._runs = _Keyset(tokens, "runs", models.Run.create_time, models.Run.id, descending=True)

    def get_distribution(self, request: svc.GetDistributionRequest) -> pb.Distribution:
        """One distribution."""
        v = Violations()
        v.identifier(request.id, "id", DISTRIBUTION_ID, "distribution")
        v.raise_if_any()
        return self._db.transaction(
            lambda s: converters.distribution_to_proto(get_distribution_row(s, request.id)),
            readonly=True,
        )

    def list_distributions(
        self, request: svc.ListDistributionsRequest
    ) -> svc.ListDistributionsResponse:
        """Distributions, oldest first, filtered by video, channel, state, method and run."""
        v = Violations()
        size = v.page_size(request.page_size)
        _optional_id(v, request.video_id, "video_id", VIDEO_ID, "video")
        _optional_id(v, request.channel_id, "channel_id", CHANNEL_ID, "channel")
        _optional_id(v, request.run_id, "run_id", DISTRIBUTION_ID, "run")
        v.check(request.state in pb.DistributionState.values(), "state", "unknown value")
        v.check(request.method in pb.DistributionMethod.values(), "method", "unknown value")
        v.raise_if_any()
        m = models.Distribution
        query, filters = _where_equal(select(m), request, m, ("video_id", "channel_id", "run_id"))
        if request.state:
            state = converters.enum_name(pb.DistributionState, request.state, "DISTRIBUTION_STATE_")
            query = query.where(m.state == state)
            filters["state"] = state
        if request.method:
            method = converters.enum_name(
                pb.DistributionMethod, request.method, "DISTRIBUTION_METHOD_"
            )
            query = query.where(m.method == method)
            filters["method"] = method
        items, token = self._distributions.page(
            self._db, query, filters, size, request.page_token, converters.distribution_to_proto
        )
        return svc.ListDistributionsResponse(distributions=items, next_page_token=token)

    def cancel_distribution(
        self, request: svc.CancelDistributionRequest, actor: str
    ) -> pb.Distribution:
        """Cancels a distribution that is not yet being published; frees its slot and pair."""
        v = Violations()
        v.identifier(request.id, "id", DISTRIBUTION_ID, "distribution")
        v.text(request.reason, "reason")
        v.raise_if_any()

        def work(session: Session) -> pb.Distribution:
            row = get_distribution_row(session, request.id, lock=True)
            if row.state not in CANCELLABLE_STATES:
                raise FailedPrecondition(
                    f"distribution {row.id} is {row.state}; only ASSIGNED or SCHEDULED ones "
                    "can be cancelled",
                    metadata={"state": row.state},
                )
            row.state = "CANCELLED"
            row.lease_token = None
            record_for(
                session,
                row,
                "CANCELLED",
                reason=request.reason or "cancelled by an operator",
                actor=actor,
                details={"code": "CANCELLED", "slot": row.scheduled_at.isoformat()},
            )
            session.flush()
            return converters.distribution_to_proto(row)

        return self._db.transaction(work)

    def list_decisions(self, request: svc.ListDecisionsRequest) -> svc.ListDecisionsResponse:
        """Decisions, newest first, filtered by video, channel, distribution and run."""
        v = Violations()
        size = v.page_size(request.page_size)
        _optional_id(v, request.video_id, "video_id", VIDEO_ID, "video")
        _optional_id(v, request.channel_id, "channel_id", CHANNEL_ID, "channel")
        _optional_id(v, request.distribution_id, "distribution_id", DISTRIBUTION_ID, "distribution")
        _optional_id(v, request.run_id, "run_id", DISTRIBUTION_ID, "run")
        v.raise_if_any()
        query, filters = _where_equal(
            select(models.Decision),
            request,
            models.Decision,
            ("video_id", "channel_id", "distribution_id", "run_id"),
        )
        items, token = self._decisions.page(
            self._db, query, filters, size, request.page_token, converters.decision_to_proto
        )
        return svc.ListDecisionsResponse(decisions=items, next_page_token=token)

    def get_run(self, request: svc.GetRunRequest) -> svc.Run:
        """One AutoDistribute run."""
        v = Violations()
        v.identifier(request.run_id, "run_id", DISTRIBUTION_ID, "run")
        v.raise_if_any()

        def work(session: Session) -> svc.Run:
            row = session.get(models.Run, request.run_id)
            if row is None:
                raise NotFound("run", request.run_id, field="run_id")
            return converters.run_to_proto(row)

        return self._db.transaction(work, readonly=True)

    def list_runs(self, request: svc.ListRunsRequest) -> svc.ListRunsResponse:
        """AutoDistribute runs, newest first."""
        v = Violations()
        size = v.page_size(request.page_size)
        v.raise_if_any()
        items, token = self._runs.page(
            self._db, select(models.Run), {}, size, request.page_token, converters.run_to_proto
        )
        return svc.ListRunsResponse(runs=items, next_page_token=token)


def _where_equal(
    query: Select[Any], request: Any, model: Any, names: tuple[str, ...]
) -> tuple[Select[Any], dict[str, Any]]:
    """`query` narrowed to rows whose columns equal the request's set fields, and those fields
    (which a page token is bound to)."""
    filters: dict[str, Any] = {}
    for name in names:
        if value := getattr(request, name):
            query = query.where(getattr(model, name) == value)
            filters[name] = value
    return query, filters


def _optional_id(v: Violations, value: str, field: str, pattern: Any, kind: str) -> None:
    if value:
        v.identifier(value, field, pattern, kind)
