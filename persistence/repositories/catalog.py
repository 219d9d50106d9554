"""Channels and videos: lookups, row locks on channels, pages and batch upserts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, ColumnElement, Select, String, Table, any_, bindparam, select
from sqlalchemy.orm import Session, selectinload

from persistence import models
from persistence.base import detached
from persistence.enums import VideoState
from persistence.repositories.keyset import Page, keyset_page

C = models.Channel
V = models.Video
#: The video columns a plan reads, in the order of the allocator's Video fields.
VALUE_COLUMNS = (
    "id",
    "source_url",
    "duration_seconds",
    "width",
    "height",
    "views",
    "tags",
    "watermarked",
    "language",
    "state",
    "available_from",
    "expires_at",
)


#: Every channel column but `config`.
_HEAD_COLUMNS = [column for column in C.__table__.columns if column.name != "config"]
# Built once, their id lists bound at execution: building an IN of a few hundred ids took
# longer than running it (`versions`, `VideoRepository.by_id_list`).
_VIDEOS = select(V).where(V.id.in_(bindparam("ids", expanding=True)))
# Assign's first statement: the channels row-locked with their quota pool links, the video
# riding along on every row (`lock_with_video`). Core columns, not ORM entities: loading two
# entities and a joined collection took twice as long as the statement itself.
_CHANNEL_COLUMNS = list(cast(Table, C.__table__).columns)
_VIDEO_COLUMNS = list(cast(Table, V.__table__).columns)
_LINK = cast(Table, models.ChannelQuotaPool.__table__)


def _lock_with_video(channel_in: ColumnElement[bool]) -> Select[Any]:
    return (
        select(
            *_CHANNEL_COLUMNS,
            *(column.label(f"video_{column.name}") for column in _VIDEO_COLUMNS),
            _LINK.c.pool_id.label("link_pool_id"),
            _LINK.c.position.label("link_position"),
        )
        .select_from(C)
        .outerjoin(V, V.id == bindparam("video_id"))
        .outerjoin(_LINK, _LINK.c.channel_id == C.id)
        .where(channel_in)
        .order_by(C.id, _LINK.c.position)
        .with_for_update(of=C)
    )


# By dialect. PostgreSQL takes the ids as one array (`= ANY`): an expanding IN is rendered
# again on every execution, a tenth of Assign's server CPU; SQLite has no arrays.
_LOCK_WITH_VIDEO = {
    "postgresql": _lock_with_video(C.id == any_(bindparam("channel_ids", type_=ARRAY(String)))),
    "sqlite": _lock_with_video(C.id.in_(bindparam("channel_ids", expanding=True))),
}
#: What a channel's version and its availability take (`versions`).
_VERSION_COLUMNS = (
    C.id,
    C.update_time,
    C.active,
    C.available,
    C.unavailable_until,
    C.unavailable_reason,
)
_VERSIONS = select(*_VERSION_COLUMNS).order_by(C.id)
_VERSIONS_BY_ID = _VERSIONS.where(C.id.in_(bindparam("ids", expanding=True)))


class ChannelRepository:
    """The channels table, bound to one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, channel_id: str) -> models.Channel | None:
        """The channel, or None."""
        return self._session.get(C, channel_id)

    def add(self, channel: models.Channel) -> models.Channel:
        """Adds a new channel to the transaction."""
        self._session.add(channel)
        return channel

    def lock(self, channel_ids: Iterable[str]) -> dict[str, models.Channel]:
        """Loads the channels, row-locked on PostgreSQL in id order (no deadlocks between callers).

        The lock serialises every writer of a channel's slots across replicas; on SQLite the
        transaction's BEGIN IMMEDIATE already did.
        """
        rows = self._session.scalars(
            select(C).where(C.id.in_(sorted(set(channel_ids)))).order_by(C.id).with_for_update()
        )
        return {row.id: row for row in rows}

    def lock_with_video(
        self, channel_ids: Iterable[str], video_id: str
    ) -> tuple[dict[str, models.Channel], models.Video | None]:
        """`lock(channel_ids)` and the video `video_id`, in one statement.

        The video rides along on every channel row (a LEFT JOIN on its id), so it is None both
        when it does not exist and when none of the channels does; so do the channels' quota
        pool links (Assign needs no statement of its own to learn that a channel has none).
        """
        connection = self._session.connection()
        rows = connection.execute(
            _LOCK_WITH_VIDEO[connection.dialect.name],
            {"video_id": video_id, "channel_ids": sorted(set(channel_ids))},
        ).all()
        # Rows outside the session (as `DistributionRepository.add` returns its row): Assign
        # only reads them, and the locks are the transaction's whatever objects hold the values.
        channels: dict[str, models.Channel] = {}
        for row in rows:
            channel = channels.get(row.id)
            if channel is None:
                values = {column.key: getattr(row, column.name) for column in _CHANNEL_COLUMNS}
                channel = channels[row.id] = detached(C, values)
                channel.quota_links = []
            if row.link_pool_id is not None:
                channel.quota_links.append(
                    models.ChannelQuotaPool(
                        channel_id=row.id, pool_id=row.link_pool_id, position=row.link_position
                    )
                )
        first = rows[0] if rows else None
        if first is None or first.video_id is None:
            return channels, None
        video = detached(V, {c.key: getattr(first, f"video_{c.name}") for c in _VIDEO_COLUMNS})
        return channels, video

    def by_ids(self, channel_ids: Iterable[str]) -> dict[str, models.Channel]:
        """The channels of `channel_ids` that exist, by id (not locked)."""
        rows = self._session.scalars(select(C).where(C.id.in_(set(channel_ids))))
        return {row.id: row for row in rows}

    def active_ids(self) -> list[str]:
        """Ids of every active channel, in id order."""
        return list(self._session.scalars(select(C.id).where(C.active.is_(True)).order_by(C.id)))

    def all(self) -> list[models.Channel]:
        """Every channel, in id order."""
        return list(self._session.scalars(select(C).order_by(C.id)))

    def page(self, after: Sequence[Any] | None, size: int) -> Page[models.Channel]:
        """Channels by id after the key `after` ([id]), their quota pool links loaded in one
        more query (not one per channel)."""
        query = select(C).options(selectinload(C.quota_links))
        return keyset_page(self._session, query, [C.id], after, size, descending=False)

    def without_config(self, channel_ids: Iterable[str] | None) -> list[Any]:
        """The channels of `channel_ids` that exist (None: every channel), in id order, as plain
        rows of every column but `config`, under the Channel's attribute names.

        No ORM objects (half the time for 500 channels) and no configuration JSON to decode:
        for callers that keep configurations parsed by version (`update_time`) and ask
        `configs` only for the versions they lack.
        """
        query = select(*_HEAD_COLUMNS).order_by(C.id)
        if channel_ids is not None:
            query = query.where(C.id.in_(set(channel_ids)))
        return list(self._session.execute(query))

    def versions(self, channel_ids: Iterable[str] | None) -> list[Any]:
        """The channels of `channel_ids` that exist (None: every channel), in id order, as rows
        of (id, update_time, active, available, unavailable_until, unavailable_reason), under
        the Channel's attribute names: a version to look parsed configurations up by, and what
        `server.usecases.availability.channel_blockers` reads. Half the columns of
        `without_config`, from statements built once."""
        if channel_ids is None:
            return list(self._session.execute(_VERSIONS))
        return list(self._session.execute(_VERSIONS_BY_ID, {"ids": list(set(channel_ids))}))

    def configs(self, channel_ids: Iterable[str]) -> dict[str, tuple[datetime, dict[str, Any]]]:
        """(update_time, config) of the channels of `channel_ids`, by id, read together so that
        the configuration is the one of that version."""
        rows = self._session.execute(
            select(C.id, C.update_time, C.config).where(C.id.in_(set(channel_ids)))
        )
        return {cid: (update_time, config) for cid, update_time, config in rows}


class VideoRepository:
    """The videos table, bound to one session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, video_id: str) -> models.Video | None:
        """The video, or None."""
        return self._session.get(V, video_id)

    def by_ids(self, video_ids: Sequence[str]) -> dict[str, models.Video]:
        """The videos of `video_ids` that exist, by id."""
        return {v.id: v for v in self._session.scalars(select(V).where(V.id.in_(video_ids)))}

    def by_id_list(self, video_ids: Sequence[str]) -> dict[str, models.Video]:
        """`by_ids(video_ids)`, from a statement built once."""
        return {v.id: v for v in self._session.scalars(_VIDEOS, {"ids": list(set(video_ids))})}

    def ready_values(self) -> Sequence[Any]:
        """The planning values of every READY video, in id order: rows of `VALUE_COLUMNS`.

        Plain column values, no ORM objects: a plan's scope can hold 100k videos.
        """
        columns = [getattr(V, name) for name in VALUE_COLUMNS]
        return self._session.execute(
            select(*columns).where(V.state == VideoState.READY).order_by(V.id)
        ).all()

    def upsert(self, values: Sequence[dict[str, Any]]) -> None:
        """Creates each video of `values` (column dicts with an `id`) or replaces its columns."""
        existing = self.by_ids([value["id"] for value in values])
        for value in values:
            row = existing.get(value["id"])
            if row is None:
                self._session.add(V(**value))
            else:
                for key, item in value.items():
                    setattr(row, key, item)

    def page(self, after: Sequence[Any] | None, size: int) -> Page[models.Video]:
        """Videos by id after the key `after` ([id])."""
        return keyset_page(self._session, select(V), [V.id], after, size, descending=False)
