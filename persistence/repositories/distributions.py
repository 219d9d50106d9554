"""Distributions: lookups, duplicate and slot queries of one channel, the lease claim, the
rows re-planning may move, pages and counts. The reads of one video against many channels at
once are in `persistence.repositories.wide_reads`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from persistence import bulk, models
from persistence.base import detached
from persistence.enums import LIVE_STATES, DistributionMethod, DistributionState, VideoState
from persistence.instants import instant_list, parse_instant_keys, parse_instants
from persistence.paired_insert import insert_with_decision
from persistence.repositories.keyset import Page, keyset_page

D = models.Distribution
C = models.Channel
V = models.Video
QL = models.ChannelQuotaPool
QP = models.QuotaPool
#: Beyond this many videos in a plan's scope, reading every live row beats an IN list.
_LIVE_SCAN_THRESHOLD = 30_000


class Duplicate(NamedTuple):
    """A live distribution that a new one of the same video or source would duplicate."""

    id: str
    video_id: str


# Literal SQL, compiled once into each statement (a literal_execute parameter would be
# rendered again on every execution).
_LIVE_LITERALS: list[ColumnElement[Any]] = [literal_column(f"'{s.value}'") for s in LIVE_STATES]


def live() -> ColumnElement[bool]:
    """`state IN (live states)` with the states inlined as literals: a partial index over the
    live states matches only a literal predicate (SQLite always, PostgreSQL under a generic
    plan of a prepared statement)."""
    return D.state.in_(_LIVE_LITERALS)


def _oldest(rows: Sequence[Any]) -> Duplicate | None:
    """The duplicate created first (then by id) among the rows of the duplicate branches."""
    oldest = min(rows, key=lambda row: (row.create_time, row.id), default=None)
    return Duplicate(oldest.id, oldest.video_id) if oldest is not None else None


# Prepared once: the statements of every Assign call, compiled from SQLAlchemy's cache.
_INSERT = insert(cast(Table, D.__table__))
# Two lookups in one statement, each on its own partial index, instead of an OR that no index
# answers (a scan of the channel's live rows). `kind` 1 marks a duplicate, 0 a taken instant.
_NO_INSTANTS = sql_cast(null(), Text).label("instants")
_DUPLICATES = [
    select(
        select(literal_column("1").label("kind"), D.id, D.video_id, D.create_time, _NO_INSTANTS)
        .where(D.channel_id == bindparam("channel_id"), live(), column == bindparam(name))
        .order_by(D.create_time, D.id)
        .limit(1)
        .subquery()
    )
    for column, name in ((D.video_id, "video_id"), (D.source_url, "source_url"))
]
_LIVE_DUPLICATE = union_all(*_DUPLICATES)
_IN_WINDOW = and_(
    D.channel_id == bindparam("channel_id"),
    live(),
    D.scheduled_at >= bindparam("start"),
    D.scheduled_at < bindparam("end"),
)
# The window's taken instants as one aggregated value (persistence.instants), not a row each.
_TAKEN = select(instant_list(D.scheduled_at)).where(_IN_WINDOW)
# Assign's two reads of a channel in one round trip: its duplicates and a window of taken slots.
_DUPLICATE_AND_TAKEN = union_all(
    *_DUPLICATES,
    select(
        literal_column("0"),
        sql_cast(null(), D.id.type),
        sql_cast(null(), D.video_id.type),
        sql_cast(null(), D.create_time.type),
        instant_list(D.scheduled_at),
    ).where(_IN_WINDOW),
)


def scheduled_due(now: datetime, until: datetime) -> ColumnElement[bool]:
    """SCHEDULED at or before `until` and past any backoff (next_attempt_at null or <= now)."""
    return and_(
        D.state == DistributionState.SCHEDULED,
        D.scheduled_at <= until,
        or_(D.next_attempt_at.is_(None), D.next_attempt_at <= now),
    )


def leasable_channel(now: datetime) -> ColumnElement[bool]:
    """The joined channel may publish at `now`: active, available (or its outage over), and in
    no quota pool the platform reported full until after now."""
    exhausted = (
        select(QL.channel_id)
        .join(QP, QP.id == QL.pool_id)
        .where(QL.channel_id == C.id, QP.exhausted_until > now)
        .exists()
    )
    return and_(
        C.active.is_(True), or_(C.available.is_(True), C.unavailable_until <= now), ~exhausted
    )


class DistributionRepository:
    """The distributions table, bound to one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, distribution_id: str, *, lock: bool = False) -> models.Distribution | None:
        """The distribution (row-locked on PostgreSQL when `lock`), or None."""
        query = select(D).where(D.id == distribution_id)
        return self._session.scalars(query.with_for_update() if lock else query).first()

    def add(
        self, values: Mapping[str, Any], decision: Mapping[str, Any] | None = None
    ) -> models.Distribution:
        """Inserts one distribution from its column values at once (a constraint violation
        raises here) and returns it as a row outside the session; with `decision` (a
        decision's column values), that too, in the same statement on PostgreSQL."""
        connection = self._session.connection()
        if decision is None:
            connection.execute(_INSERT, dict(values))
        else:
            insert_with_decision(connection, D, values, models.Decision, decision)
        return detached(D, values)

    def insert_many(self, values: Sequence[Mapping[str, Any]]) -> None:
        """Inserts many distributions (column values, every row with the same keys) in the
        transaction: COPY on PostgreSQL, executemany on SQLite, no ORM objects."""
        bulk.insert(self._session, D, values)

    def live_duplicate(self, video_id: str, source_url: str, channel_id: str) -> Duplicate | None:
        """The oldest live distribution of the video, or of its source URL, on the channel."""
        rows = self._session.execute(
            _LIVE_DUPLICATE,
            {"channel_id": channel_id, "video_id": video_id, "source_url": source_url},
        ).all()
        return _oldest(rows)

    def duplicate_and_taken(
        self, video_id: str, source_url: str, channel_id: str, start: datetime, end: datetime
    ) -> tuple[Duplicate | None, list[int]]:
        """`live_duplicate` and `taken_keys(channel_id, start, end)` in one statement."""
        # Core statements on the connection: the session's ORM execution path adds nothing here.
        rows = (
            self._session.connection()
            .execute(
                _DUPLICATE_AND_TAKEN,
                {
                    "channel_id": channel_id,
                    "video_id": video_id,
                    "source_url": source_url,
                    "start": start,
                    "end": end,
                },
            )
            .all()
        )
        taken = next((r.instants for r in rows if r.kind == 0), None)
        return _oldest([r for r in rows if r.kind == 1]), parse_instant_keys(taken)

    def taken_times(self, channel_id: str, start: datetime, end: datetime) -> list[datetime]:
        """Instants held by live distributions of the channel in [start, end)."""
        return parse_instants(self._taken(channel_id, start, end))

    def taken_keys(self, channel_id: str, start: datetime, end: datetime) -> list[int]:
        """`taken_times` as microseconds since the epoch (what the slot search compares)."""
        return parse_instant_keys(self._taken(channel_id, start, end))

    def _taken(self, channel_id: str, start: datetime, end: datetime) -> str | None:
        window = {"channel_id": channel_id, "start": start, "end": end}
        return cast(str | None, self._session.connection().scalar(_TAKEN, window))

    def slot_holder(self, channel_id: str, at: datetime) -> str | None:
        """The id of the live distribution holding the channel's slot at `at`, if any."""
        return self._session.scalar(
            select(D.id).where(
                D.channel_id == channel_id, D.scheduled_at == at, D.state.in_(LIVE_STATES)
            )
        )

    def live_pairs(
        self,
        channel_ids: Sequence[str],
        video_ids: Sequence[str] | None,
        with_platform: bool = False,
    ) -> Sequence[Any]:
        """(video_id, channel_id, source_url, scheduled_at) of live distributions that touch
        the channels or the videos (a plan's pins, taken slots and duplicates); `video_ids`
        None stands for every READY video, matched in the database by a subquery.
        `with_platform` adds the channel's platform to each row."""
        columns = [D.video_id, D.channel_id, D.source_url, D.scheduled_at]
        if with_platform:
            columns.append(models.Channel.platform)
        query = select(*columns).where(D.state.in_(LIVE_STATES))
        if with_platform:
            query = query.join(models.Channel, models.Channel.id == D.channel_id)
        if video_ids is None:
            ready = select(V.id).where(V.state == VideoState.READY)
            query = query.where(or_(D.channel_id.in_(channel_ids), D.video_id.in_(ready)))
        elif len(video_ids) < _LIVE_SCAN_THRESHOLD:
            query = query.where(or_(D.channel_id.in_(channel_ids), D.video_id.in_(video_ids)))
        return self._session.execute(query).all()

    def claim_due(
        self, now: datetime, lookahead: timedelta, limit: int, channel_ids: Sequence[str]
    ) -> list[models.Distribution]:
        """Up to `limit` due publications, oldest first, locked so no other worker gets them.

        Due: SCHEDULED at or before now + lookahead and past any backoff, or PUBLISHING with an
        expired lease, on an active channel that is available (or whose outage has ended) and
        counts against no quota pool the platform reported full until after now.
        """
        due = or_(
            scheduled_due(now, now + lookahead),
            # A lease that ran out without a report: its worker died or lost the outcome.
            and_(D.state == DistributionState.PUBLISHING, D.lease_expires_at <= now),
        )
        query = (
            select(D)
            .join(C, C.id == D.channel_id)
            .where(due, leasable_channel(now))
            .order_by(D.scheduled_at, D.id)
            .limit(limit)
            # SKIP LOCKED: concurrent workers take disjoint rows instead of queueing behind
            # each other. SQLite ignores it; BEGIN IMMEDIATE serialised this transaction.
            .with_for_update(of=D, skip_locked=True)
        )
        if channel_ids:
            query = query.where(D.channel_id.in_(channel_ids))
        return list(self._session.scalars(query))

    def lock_for_retry(self, ids: Sequence[str], channel_id: str) -> dict[str, models.Distribution]:
        """Row-locked distributions by id: those of `ids`, else the FAILED ones (of a channel)."""
        query = select(D).order_by(D.scheduled_at, D.id).with_for_update()
        if ids:
            query = query.where(D.id.in_(ids))
        else:
            query = query.where(D.state == DistributionState.FAILED)
            if channel_id:
                query = query.where(D.channel_id == channel_id)
        return {row.id: row for row in self._session.scalars(query)}

    def page(
        self, equal: Mapping[str, Any], after: Sequence[Any] | None, size: int
    ) -> Page[models.Distribution]:
        """Distributions whose columns equal `equal`, oldest first, after (create_time, id)."""
        query = select(D).where(*(getattr(D, k) == v for k, v in equal.items()))
        return keyset_page(
            self._session, query, [D.create_time, D.id], after, size, descending=False
        )

    def counts(
        self, channel_ids: Sequence[str], start: datetime | None, end: datetime | None
    ) -> list[tuple[str, str, str, int]]:
        """(channel_id, state, method, count) of the distributions in a statistics scope."""
        rows = self._session.execute(
            select(D.channel_id, D.state, D.method, func.count())
            .where(in_scope(channel_ids, start, end))
            .group_by(D.channel_id, D.state, D.method)
        ).all()
        return [(c, str(s), str(m), int(n)) for c, s, m, n in rows]

    def movable(
        self, channel_ids: Sequence[str], since: datetime, until: datetime
    ) -> Sequence[Any]:
        """(id, video_id, channel_id, scheduled_at, score) of what a re-planning run may move
        or drop on the channels: AUTO_* distributions SCHEDULED in [since, until), never
        leased or retried."""
        if not channel_ids:
            return []
        return self._session.execute(
            select(D.id, D.video_id, D.channel_id, D.scheduled_at, D.score).where(
                D.channel_id.in_(list(channel_ids)),
                D.state == DistributionState.SCHEDULED,
                D.method.in_([DistributionMethod.AUTO_FILTER, DistributionMethod.AUTO_SCHEDULE]),
                D.lease_token.is_(None),
                D.attempts == 0,
                D.scheduled_at >= since,
                D.scheduled_at < until,
            )
        ).all()

    def lock_many(self, ids: Sequence[str]) -> dict[str, models.Distribution]:
        """The distributions by id, row-locked (PostgreSQL), in one statement."""
        if not ids:
            return {}
        rows = self._session.scalars(select(D).where(D.id.in_(list(ids))).with_for_update())
        return {row.id: row for row in rows}

    def first_live_since(
        self, channel_ids: Sequence[str], video_ids: Sequence[str], since: datetime
    ) -> models.Distribution | None:
        """The earliest-scheduled live distribution created after `since` on the channels or
        of the videos: what a proposal made at `since` did not know of."""
        touches = or_(D.channel_id.in_(list(channel_ids)), D.video_id.in_(list(video_ids)))
        return self._session.scalars(
            select(D)
            .where(live(), D.create_time > since, touches)
            .order_by(D.scheduled_at, D.id)
            .limit(1)
        ).first()


def in_scope(
    channel_ids: Sequence[str], start: datetime | None, end: datetime | None
) -> ColumnElement[bool]:
    """Distributions on `channel_ids` (all when empty) scheduled in [start, end)."""
    condition: ColumnElement[bool] = true()
    if channel_ids:
        condition = condition & D.channel_id.in_(channel_ids)
    if start is not None:
        condition = condition & (D.scheduled_at >= start)
    if end is not None:
        condition = condition & (D.scheduled_at < end)
    return condition
