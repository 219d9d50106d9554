"""Reads of one video against many channels at once, each one statement whatever the channel
count: the live duplicates of (video, channel) pairs (Explain, SuggestPlacements) and the live
holders of the channels' slots (SuggestPlacements)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    String,
    Table,
    any_,
    bindparam,
    func,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from persistence import models
from persistence.enums import LIVE_STATES, DistributionMethod, DistributionState
from persistence.repositories.distributions import live

D = models.Distribution


# `live_duplicates` of many pairs as one statement built once, its lists bound at execution:
# one branch per lookup column. Without statistics (a fresh or never analysed database)
# SQLite answers `state IN (...)` with the state index, walking every live row; INDEXED BY
# names the branch's (channel, column) live index instead (0.07 against 1.9 ms for 1 video x
# 20 channels over 2,000 live rows). PostgreSQL plans the portable form well.
_PAIR_COLUMNS = (D.create_time, D.id, D.video_id, D.source_url, D.channel_id)
_PAIR_BRANCHES = (
    ("ix_distributions_live_channel_video", "video_id", "video_ids"),
    ("ix_distributions_live_channel_source", "source_url", "source_urls"),
)
_LIVE_PAIRS = union_all(
    *(
        select(*_PAIR_COLUMNS).where(
            D.channel_id.in_(bindparam("channel_ids", expanding=True)),
            live(),
            getattr(D, column).in_(bindparam(values, expanding=True)),
        )
        for _, column, values in _PAIR_BRANCHES
    )
)
_LIVE_STATES_SQL = ", ".join(f"'{s.value}'" for s in LIVE_STATES)
_LIVE_PAIRS_SQLITE = (
    text(
        " UNION ALL ".join(
            "SELECT create_time, id, video_id, source_url, channel_id"
            f" FROM distributions INDEXED BY {index}"
            f" WHERE channel_id IN :channel_ids AND state IN ({_LIVE_STATES_SQL})"
            f" AND {column} IN :{values}"
            for index, column, values in _PAIR_BRANCHES
        )
    )
    .bindparams(
        *(bindparam(name, expanding=True) for name in ("channel_ids", "video_ids", "source_urls"))
    )
    .columns(*(cast(Table, D.__table__).c[c.key] for c in _PAIR_COLUMNS))
)


class WideReads:
    """The many-channel reads, bound to one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def live_duplicates(
        self, videos: Sequence[tuple[str, str]], channel_ids: Sequence[str]
    ) -> dict[tuple[str, str], str]:
        """`live_duplicate` of every (video, channel) pair at once, in one statement.

        `videos` are (video_id, source_url). Returns (video_id, channel_id) -> the id of the
        oldest live distribution (by create_time, then id) of the video, or of its source URL,
        on the channel; pairs without one are absent.
        """
        if not videos or not channel_ids:
            return {}
        video_ids = sorted({video_id for video_id, _ in videos})
        by_source = _by_source(videos)
        channels = list(channel_ids)
        # One branch per lookup column, each answered by its (channel, column) live index,
        # rather than an OR that no index answers.
        statement = union_all(
            *(
                select(D.create_time, D.id, D.video_id, D.source_url, D.channel_id).where(
                    D.channel_id.in_(channels), live(), column.in_(values)
                )
                for column, values in ((D.video_id, video_ids), (D.source_url, list(by_source)))
            )
        )
        return _oldest_per_pair(self._session.execute(statement), by_source)

    def live_duplicates_indexed(
        self, videos: Sequence[tuple[str, str]], channel_ids: Sequence[str]
    ) -> dict[tuple[str, str], str]:
        """`live_duplicates`, the same answer from one statement built once (`_LIVE_PAIRS`),
        each branch on its (channel, column) live index on SQLite too."""
        if not videos or not channel_ids:
            return {}
        by_source = _by_source(videos)
        sqlite = self._session.get_bind().dialect.name == "sqlite"
        rows = self._session.execute(
            _LIVE_PAIRS_SQLITE if sqlite else _LIVE_PAIRS,
            {
                "channel_ids": list(dict.fromkeys(channel_ids)),
                "video_ids": sorted({video_id for video_id, _ in videos}),
                "source_urls": list(by_source),
            },
        )
        return _oldest_per_pair(rows, by_source)

    def slot_holders(
        self, channel_ids: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[Any]:
        """(channel_id, scheduled_at, id, method, state, score) of the live distributions of
        the channels scheduled in [start, end), in one statement (channel, slot index)."""
        if not channel_ids:
            return []
        return self._session.execute(
            select(D.channel_id, D.scheduled_at, D.id, D.method, D.state, D.score).where(
                D.channel_id.in_(list(channel_ids)),
                live(),
                D.scheduled_at >= start,
                D.scheduled_at < end,
            )
        ).all()

    def slot_instants_and_weakest(
        self,
        channel_ids: Sequence[str],
        start: datetime,
        end: datetime,
        since: datetime,
        until: datetime,
    ) -> Sequence[Any]:
        """`slot_holders` as little as SuggestPlacements needs of it, in one statement.

        Rows (channel_id, scheduled_at, id, score): with id None, an instant held by a live
        distribution of the channel in [start, end); with an id, the channel's weakest
        displaceable holder (AUTO_*, ASSIGNED or SCHEDULED) in [since, until), lowest score
        then earliest, whose instant is among the others too. Two columns for most rows
        instead of six, and the choice among the displaceable ones made by the database:
        converting each row to Python was most of the cost of a wide call."""
        if not channel_ids:
            return []
        channels = list(channel_ids)
        # On PostgreSQL the ids go as one array: an IN list of 70-190 ids makes the statement
        # too long for psycopg's cache of parsed statements (4 kB, 50 parameters), so it was
        # parsed again on every call, each parameter rendered by SQLAlchemy first (30 against
        # 24 ms for 130 channels, loaded). SQLite has no arrays.
        on_channels = (
            D.channel_id.in_(channels)
            if self._session.get_bind().dialect.name == "sqlite"
            else D.channel_id == any_(bindparam("channel_ids", channels, type_=ARRAY(String)))
        )
        taken = select(
            D.channel_id,
            D.scheduled_at,
            sql_cast(null(), D.id.type).label("id"),
            sql_cast(null(), D.score.type).label("score"),
        ).where(on_channels, live(), D.scheduled_at >= start, D.scheduled_at < end)
        rank = (
            func.row_number()
            .over(partition_by=D.channel_id, order_by=(D.score, D.scheduled_at, D.id))
            .label("rank")
        )
        displaceable = (
            select(D.channel_id, D.scheduled_at, D.id, D.score, rank)
            .where(
                on_channels,
                live(),
                D.method.in_([DistributionMethod.AUTO_FILTER, DistributionMethod.AUTO_SCHEDULE]),
                D.state.in_([DistributionState.ASSIGNED, DistributionState.SCHEDULED]),
                D.scheduled_at >= since,
                D.scheduled_at < until,
            )
            .subquery()
        )
        weakest = select(
            displaceable.c.channel_id,
            displaceable.c.scheduled_at,
            displaceable.c.id,
            displaceable.c.score,
        ).where(displaceable.c.rank == 1)
        return self._session.execute(union_all(taken, weakest)).all()


def _by_source(videos: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Each requested source URL -> its requested videos (several may share one)."""
    by_source: dict[str, list[str]] = {}
    for video_id, source_url in videos:
        by_source.setdefault(source_url, []).append(video_id)
    return by_source


def _oldest_per_pair(
    rows: Iterable[Any], by_source: Mapping[str, list[str]]
) -> dict[tuple[str, str], str]:
    """(video_id, channel_id) -> the oldest (create_time, then id) of `rows` (create_time, id,
    video_id, source_url, channel_id) of the requested video or of its source URL; `by_source`
    maps each requested source URL to its requested videos."""
    requested = {video_id for videos in by_source.values() for video_id in videos}
    found: dict[tuple[str, str], str] = {}
    # Oldest first; a row found by both branches counts once (setdefault).
    # Plain tuples: sorting SQLAlchemy rows compares them through Python-level methods.
    for _, row_id, video_id, source_url, channel_id in sorted(tuple(row) for row in rows):
        if video_id in requested:
            found.setdefault((video_id, channel_id), row_id)
        for video in by_source.get(source_url, ()):
            found.setdefault((video, channel_id), row_id)
    return found
