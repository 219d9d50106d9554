"""The quota pools of a planning run: read into its scope with their window rows locked, and
each pool window's use once the plan is in, for the answer's `quota[]`.

The run locks every window row of its horizon (`QuotaRepository.lock_windows`, the rows
Assign and the missed-slot sweep lock too) before it counts, so a writer on a channel outside
the run's scope that shares a pool waits for the plan instead of taking its last places.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from allocator import quota_windows as qw
from allocator.planning_limits import ScopePool
from allocator.release import Released
from persistence.base import utcnow
from persistence.repositories import Repositories
from persistence.repositories.quotas import PoolView
from server.usecases.errors import Aborted


@dataclass(frozen=True)
class QuotaUse:
    """One pool window of the horizon after the plan: its start, what it holds, its limit.

    Calendar pools: each local day. Rolling pools: each UTC day (the limit itself holds over
    every 24 hours)."""

    pool_id: str
    window_start: datetime
    used: int
    limit: int


def scope_pools(
    repos: Repositories,
    channel_ids: Sequence[str],
    start: datetime,
    end: datetime,
    released: Iterable[Released],
) -> list[ScopePool]:
    """The pools of the channels for a plan over [start, end), their windows locked, with what
    already counts in them (the distributions the run may move or drop do not: they are the
    plan's to place)."""
    views = repos.quotas.pools_in_scope(channel_ids, start, end)
    if not views:
        return []
    for view in views:
        repos.quotas.lock_windows(view.id, _lock_starts(view, start, end))
    views = repos.quotas.pools_in_scope(channel_ids, start, end)  # counted under the locks
    gone = {r.distribution_id for r in released}
    now = utcnow()
    return [
        ScopePool(
            id=view.id,
            kind=str(view.window),
            limit=view.limit,
            timezone=view.timezone,
            channel_ids=view.channel_ids,
            used=tuple(at for did, _, at in view.live if did not in gone),
            full_until=(
                view.exhausted_until
                if view.exhausted_until is not None and view.exhausted_until > now
                else None
            ),
        )
        for view in views
    ]


def _lock_starts(view: PoolView, start: datetime, end: datetime) -> list[datetime]:
    """The window rows a placement anywhere in [start, end) would lock (`lock_keys`)."""
    kind = str(view.window)
    if kind == qw.CALENDAR_DAY:
        return [w[0] for w in qw.windows_overlapping(kind, view.timezone, start, end)]
    # Rolling: the UTC days around every placement's day.
    return [w[0] for w in qw.windows_overlapping(kind, "UTC", start - qw.DAY, end + qw.DAY)]


def quota_use(
    pools: Sequence[ScopePool],
    start: datetime,
    end: datetime,
    placements: Iterable[tuple[str, datetime]],
) -> list[QuotaUse]:
    """Each pool window of [start, end) with the live distributions and the plan's
    `placements` (channel id, scheduled_at) in it, pool by pool, in time order."""
    by_channel: dict[str, list[datetime]] = {}
    for channel_id, at in placements:
        by_channel.setdefault(channel_id, []).append(at)
    out: list[QuotaUse] = []
    for pool in pools:
        times = sorted([*pool.used, *(t for c in pool.channel_ids for t in by_channel.get(c, []))])
        zone = pool.timezone if pool.kind == qw.CALENDAR_DAY else "UTC"
        for lo, hi in qw.windows_overlapping(pool.kind, zone, start, end):
            used = bisect_left(times, hi) - bisect_left(times, lo)
            out.append(QuotaUse(pool.id, lo, used, pool.limit))
    return out


def recheck_pools(
    repos: Repositories,
    run_id: str,
    since: datetime,
    channel_ids: Sequence[str],
    added: Sequence[tuple[str, datetime]],
) -> None:
    """Aborted when a pool of the proposal's channels changed since `since`: a live
    distribution appeared on another member channel (the plan's own channels are checked by
    the caller), or the platform reported the pool full before an added publication's time.
    The pools' window rows stay locked until the plan is written."""
    if not added:
        return
    lo = min(t for _, t in added)
    hi = max(t for _, t in added) + qw.DAY
    views = repos.quotas.pools_in_scope(channel_ids, lo, hi)
    for view in views:
        repos.quotas.lock_windows(view.id, _lock_starts(view, lo, hi))
    others = sorted({c for v in views for c in v.channel_ids} - set(channel_ids))
    newer = repos.distributions.first_live_since(others, [], since) if others else None
    if newer is not None:
        raise Aborted(
            f"distribution {newer.id} on {newer.channel_id} at {newer.scheduled_at.isoformat()} "
            f"counts against a quota pool of the plan and was made after proposal {run_id}; "
            "nothing was written. Make a new dry run"
        )
    for view in views:
        full = view.exhausted_until
        if full is None:
            continue
        hit = [t for c, t in added if c in view.channel_ids and t < full]
        if hit:
            raise Aborted(
                f"quota pool {view.id} was reported full until {full.isoformat()} "
                f"(the plan publishes on it at {min(hit).isoformat()}); nothing was written. "
                "Make a new dry run"
            )


def quota_after(
    repos: Repositories, channel_ids: Sequence[str], times: Sequence[datetime]
) -> list[QuotaUse]:
    """Each pool window from the first to the last of `times`, as the database holds it."""
    if not times:
        return []
    lo, hi = min(times), max(times) + timedelta(seconds=1)
    pools = scope_pools(repos, channel_ids, lo, hi, ())
    return quota_use(pools, lo, hi, ())
