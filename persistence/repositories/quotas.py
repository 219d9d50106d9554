"""Quota pools: the pools, channels' membership, the window rows writers lock, the counts of
live distributions in a window, and the view of a planning scope's pools."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from persistence import models
from persistence.enums import QUOTA_STATES, DistributionState, QuotaWindow
from persistence.repositories.keyset import Page, keyset_page

D = models.Distribution
P = models.QuotaPool
L = models.ChannelQuotaPool
W = models.QuotaPoolWindow
#: A rolling window reaches this far on each side of the instants it counts.
_DAY = timedelta(hours=24)


@dataclass(frozen=True)
class PoolView:
    """One quota pool as a plan sees it (`QuotaRepository.pools_in_scope`).

    `live` holds (distribution id, channel id, scheduled_at) of every live distribution
    (SCHEDULED, PUBLISHING, PUBLISHED) of any member channel in the counted span, by time.
    """

    id: str
    window: QuotaWindow
    limit: int
    timezone: str
    channel_ids: tuple[str, ...]
    live: tuple[tuple[str, str, datetime], ...]
    exhausted_until: datetime | None

    @property
    def times(self) -> list[datetime]:
        """The instants of `live`, sorted: what a window counts."""
        return [at for _, _, at in self.live]


def _members(pool_id: str) -> Any:
    return select(L.channel_id).where(L.pool_id == pool_id).scalar_subquery()


class QuotaRepository:
    """The quota tables, bound to one session."""

    def __init__(self, session: Session, dialect: str) -> None:
        self._session = session
        self._dialect = dialect

    def get(self, pool_id: str) -> models.QuotaPool | None:
        """The pool, or None."""
        return self._session.get(P, pool_id)

    def lock(self, pool_id: str) -> models.QuotaPool | None:
        """The pool, row-locked on PostgreSQL (its exhausted-until is about to change)."""
        return self._session.scalars(select(P).where(P.id == pool_id).with_for_update()).first()

    def add(self, pool: models.QuotaPool) -> models.QuotaPool:
        """Adds a new pool to the transaction."""
        self._session.add(pool)
        return pool

    def existing_ids(self, pool_ids: Iterable[str]) -> set[str]:
        """The ids of `pool_ids` that name a pool."""
        return set(self._session.scalars(select(P.id).where(P.id.in_(set(pool_ids)))))

    def page(self, after: Sequence[Any] | None, size: int) -> Page[models.QuotaPool]:
        """Pools by id after the key `after` ([id])."""
        return keyset_page(self._session, select(P), [P.id], after, size, descending=False)

    def pools_of(self, channel_id: str) -> list[models.QuotaPool]:
        """The pools the channel counts against, in its quota_pool_ids order."""
        return list(
            self._session.scalars(
                select(P)
                .join(L, L.pool_id == P.id)
                .where(L.channel_id == channel_id)
                .order_by(L.position)
            )
        )

    def set_channel_pools(self, channel: models.Channel, pool_ids: Sequence[str]) -> None:
        """Makes `pool_ids` (existing, unique) the channel's pools, in that order.

        Kept links are updated in place: a link removed and added again in one flush would be
        inserted before the delete and collide with itself.
        """
        links = {link.pool_id: link for link in channel.quota_links}
        wanted = list(pool_ids)
        for pool_id, link in links.items():
            if pool_id not in wanted:
                channel.quota_links.remove(link)
        for position, pool_id in enumerate(wanted):
            kept = links.get(pool_id)
            if kept is None:
                channel.quota_links.append(
                    L(channel_id=channel.id, pool_id=pool_id, position=position)
                )
            else:
                kept.position = position
        channel.quota_links.sort(key=lambda link: link.position)

    def lock_windows(self, pool_id: str, starts: Iterable[datetime]) -> None:
        """Locks the pool's window rows of `starts` (creating them first), in ascending order.

        Every writer that puts a live distribution into a window of the pool holds this lock
        until it commits, so its count and its insert are one step for every other replica.
        SQLite has one writer at a time (BEGIN IMMEDIATE): the rows are made, nothing waits.
        """
        ordered = sorted(set(starts))
        if not ordered:
            return
        values = [{"pool_id": pool_id, "window_start": start} for start in ordered]
        dialect_insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        self._session.execute(dialect_insert(W).values(values).on_conflict_do_nothing())
        self._session.execute(
            select(W.pool_id)
            .where(W.pool_id == pool_id, W.window_start.in_(ordered))
            .order_by(W.window_start)
            .with_for_update()
        ).all()

    def live_times(
        self,
        pool_id: str,
        start: datetime,
        end: datetime,
        exclude: str | None = None,
        states: Sequence[DistributionState] = QUOTA_STATES,
    ) -> list[datetime]:
        """scheduled_at of the live distributions (of `states`) of the pool's channels in
        [start, end), sorted; `exclude` leaves one distribution out (the one being moved)."""
        query = select(D.scheduled_at).where(
            D.channel_id.in_(_members(pool_id)),
            D.state.in_(list(states)),
            D.scheduled_at >= start,
            D.scheduled_at < end,
        )
        if exclude is not None:
            query = query.where(D.id != exclude)
        return sorted(self._session.scalars(query))

    def pools_in_scope(
        self, channel_ids: Iterable[str], start: datetime, end: datetime
    ) -> list[PoolView]:
        """Every pool of the channels `channel_ids`, by id, for a plan over [start, end).

        Each `PoolView` has the pool's kind, limit, timezone and exhausted-until, the ids of
        all its member channels (in the scope or not: they share the limit), and the live
        distributions of all those members scheduled in (start - 24 h, end + 24 h), enough to
        count every calendar day and every rolling 24 hours that meets the horizon. Nothing is
        locked: a writer locks the windows it fills with `lock_windows` before its final count.
        """
        ids = sorted(set(channel_ids))
        if not ids:
            return []
        pools = list(
            self._session.scalars(
                select(P)
                .where(P.id.in_(select(L.pool_id).where(L.channel_id.in_(ids))))
                .order_by(P.id)
            )
        )
        if not pools:
            return []
        members: defaultdict[str, list[str]] = defaultdict(list)
        for pool_id, channel_id in self._session.execute(
            select(L.pool_id, L.channel_id)
            .where(L.pool_id.in_([p.id for p in pools]))
            .order_by(L.pool_id, L.channel_id)
        ):
            members[pool_id].append(channel_id)
        every_member = sorted({c for cs in members.values() for c in cs})
        by_channel: defaultdict[str, list[tuple[str, str, datetime]]] = defaultdict(list)
        for row in self._session.execute(
            select(D.id, D.channel_id, D.scheduled_at).where(
                D.channel_id.in_(every_member),
                D.state.in_(QUOTA_STATES),
                D.scheduled_at > start - _DAY,
                D.scheduled_at < end + _DAY,
            )
        ):
            by_channel[row.channel_id].append((row.id, row.channel_id, row.scheduled_at))
        views = []
        for pool in pools:
            live = sorted(
                (item for c in members[pool.id] for item in by_channel[c]),
                key=lambda item: (item[2], item[0]),
            )
            views.append(
                PoolView(
                    id=pool.id,
                    window=pool.window,
                    limit=pool.limit,
                    timezone=pool.timezone or "UTC",
                    channel_ids=tuple(members[pool.id]),
                    live=tuple(live),
                    exhausted_until=pool.exhausted_until,
                )
            )
        return views
