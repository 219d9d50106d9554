"""SuggestPlacements: where one video would serve best, ranked, and why the other channels
cannot take it.

Priced by direct evaluation: the same filters and score as Explain and AutoDistribute, each
channel's calendar in its own timezone (`free_slot.first_free_slot`, day by day), and the
instants the live distributions of every channel hold, with each channel's weakest
displaceable one, read in one statement. Each channel that can take the video
offers its best slot: the first free one, else the slot of its lowest-value AUTO_* holder
that is not leased yet and is worth less than this video there (`displaces`). Slots carry no
weights yet, so every slot of a channel is worth `score * 1.0`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from allocator import calendar, filters, free_slot, quota_windows, scoring
from allocator import domain as d
from persistence.base import utcnow
from persistence.repositories import Repositories
from server.usecases import lookups
from server.usecases.availability import channel_blockers, video_blockers
from server.usecases.domain_values import channels_to_domain, video_to_domain
from server.usecases.errors import NotFound

DEFAULT_LIMIT = 5
DEFAULT_HORIZON = timedelta(days=14)
SLOT_WEIGHT = 1.0  # of a blocked channel: no slot to weigh


@dataclass(frozen=True)
class SuggestCommand:
    """Rank places for `video_id` on `channel_ids` (empty: every active channel) before `end`
    (None: DEFAULT_HORIZON from now); at most `limit` options."""

    video_id: str
    channel_ids: tuple[str, ...]
    limit: int
    end: datetime | None


@dataclass(frozen=True)
class Placement:
    """An option (a slot, maybe displacing a holder) or a blocked channel (`blockers`)."""

    channel_id: str
    scheduled_at: datetime | None
    score: int
    slot_weight: float
    value: int
    displaces: str = ""
    blockers: tuple[str, ...] = ()


class _Holder(NamedTuple):
    """A channel's weakest displaceable distribution: AUTO_*, not leased yet, lowest score
    then earliest over the horizon (chosen by the database)."""

    at: datetime
    distribution_id: str
    score: int


class _Slots(NamedTuple):
    """What the slot search needs of a channel's live distributions: the instants they hold,
    and the one a better video may displace."""

    taken: list[datetime]
    weakest: _Holder | None


def suggest(repos: Repositories, command: SuggestCommand) -> list[Placement]:
    """The options best value first (then earlier slot, then channel id), then the blocked
    channels in channel order. Five statements whatever the number of channels (seven when
    they count against quota pools: a slot whose pool window is full is passed over)."""
    now = utcnow()
    end = command.end or now + DEFAULT_HORIZON
    video = lookups.video(repos, command.video_id, "video_id")
    rows = _channels(repos, command.channel_ids)
    channels = channels_to_domain(rows, repos.channels.configs)
    duplicates = repos.wide.live_duplicates_indexed(
        [(video.id, video.source_url)], [c.id for c in rows]
    )
    dom_video = video_to_domain(video)
    video_blocked = video_blockers(video, now)
    scored: list[tuple[d.Channel, int]] = []
    blocked: list[Placement] = []
    for row, channel in zip(rows, channels, strict=True):
        match = filters.evaluate(dom_video, filters.compile_rules(channel))
        score = scoring.score(dom_video, channel, match).total
        reasons = channel_blockers(row, now) + video_blocked
        if not match.eligible:
            reasons.append("fails channel filters: " + ", ".join(match.failed_filters))
        if duplicate := duplicates.get((video.id, channel.id)):
            reasons.append(f"already live on {channel.id} as distribution {duplicate}")
        if reasons:
            blocked.append(_blocked(channel.id, score, reasons))
        else:
            scored.append((channel, score))
    slots = _slots(repos, [c for c, _ in scored], now, end)
    fits = _pool_fits(repos, [c.id for c, _ in scored], now, end)
    options: list[Placement] = []
    for channel, score in scored:
        option = _best_slot(channel, score, slots[channel.id], now, end, fits.get(channel.id))
        if option is None:
            reason = f"no free slot on {channel.id} before {end.isoformat()}"
            blocked.append(_blocked(channel.id, score, [reason]))
        else:
            options.append(option)
    options.sort(key=lambda p: (-p.value, p.scheduled_at, p.channel_id))
    blocked.sort(key=lambda p: p.channel_id)
    return options[: command.limit] + blocked


def _channels(repos: Repositories, channel_ids: tuple[str, ...]) -> list[Any]:
    if not channel_ids:
        return [row for row in repos.channels.without_config(None) if row.active]
    found = {row.id: row for row in repos.channels.without_config(channel_ids)}
    for i, cid in enumerate(channel_ids):
        if cid not in found:
            raise NotFound("channel", cid, field=f"channel_ids[{i}]")
    return [found[cid] for cid in channel_ids]


def _slots(
    repos: Repositories, channels: list[d.Channel], now: datetime, end: datetime
) -> defaultdict[str, _Slots]:
    """Each channel's taken instants in `_holders_window` and its weakest displaceable holder
    in [now, end), in one statement."""
    found: defaultdict[str, _Slots] = defaultdict(lambda: _Slots([], None))
    lo, hi = _holders_window(channels, now, end)
    rows = repos.wide.slot_instants_and_weakest([c.id for c in channels], lo, hi, now, end)
    for channel_id, at, row_id, score in rows:
        if row_id is None:
            found[channel_id].taken.append(at)
        else:
            found[channel_id] = found[channel_id]._replace(weakest=_Holder(at, row_id, score))
    return found


def _holders_window(
    channels: list[d.Channel], now: datetime, end: datetime
) -> tuple[datetime, datetime]:
    """[now, end), widened by `free_slot.TAKEN_MARGIN` on both sides when a channel caps its
    posts a day: only a cap counts the instants around the horizon (the local days it cuts).
    Without a cap the day before and the day after the horizon would be two of 16 days read
    for nothing (more with a busy past day: its PUBLISHED rows count as live)."""
    if any(c.schedule.max_posts_per_day for c in channels):
        return now - free_slot.TAKEN_MARGIN, end + free_slot.TAKEN_MARGIN
    return now, end


def _pool_fits(
    repos: Repositories, channel_ids: list[str], now: datetime, end: datetime
) -> dict[str, Callable[[datetime], bool]]:
    """Per channel that counts against quota pools: whether a placement at t keeps them all
    (not reported full then, and within every window, `allocator.quota_windows.fits`)."""
    pools = repos.quotas.pools_in_scope(channel_ids, now, end) if channel_ids else []
    of_channel: defaultdict[str, list[Any]] = defaultdict(list)
    for pool in pools:
        for cid in pool.channel_ids:
            of_channel[cid].append(pool)

    # Each pool's instants once, not rebuilt (PoolView.times) for every slot asked about.
    times = {pool.id: pool.times for pool in pools}

    def fits_all(mine: list[Any]) -> Callable[[datetime], bool]:
        def fits(t: datetime) -> bool:
            return all(
                (pool.exhausted_until is None or t >= pool.exhausted_until)
                and quota_windows.fits(
                    str(pool.window), pool.timezone, pool.limit, times[pool.id], t
                )
                for pool in mine
            )

        return fits

    return {cid: fits_all(mine) for cid, mine in of_channel.items()}


def _best_slot(
    channel: d.Channel,
    score: int,
    slots: _Slots,
    now: datetime,
    end: datetime,
    fits: Callable[[datetime], bool] | None = None,
) -> Placement | None:
    # Sorted once, so that each window the slot search asks for is two bisections rather than
    # a pass over every holder.
    keys = sorted(free_slot.instant_key(t) for t in slots.taken)

    def taken_between(lo: datetime, hi: datetime) -> list[int]:
        low, high = free_slot.instant_key(lo), free_slot.instant_key(hi)
        return keys[bisect_left(keys, low) : bisect_left(keys, high)]

    free = free_slot.first_free_slot(
        channel.schedule, channel.timezone, now, end, taken_between, fits
    )
    if free is not None:
        weight = _weight(channel, free)
        return Placement(channel.id, free, score, weight, round(score * weight))
    # No free slot: the weakest displaceable holder, if this video is worth more there. The
    # weakest one is the cheapest of those it would beat, whenever there are any.
    weakest = slots.weakest
    if weakest is None or weakest.score >= score:  # the same slot weight for both
        return None
    weight = _weight(channel, weakest.at)
    return Placement(
        channel.id, weakest.at, score, weight, round(score * weight), weakest.distribution_id
    )


def _weight(channel: d.Channel, at: datetime) -> float:
    """The weight of the channel's slot at `at` (WeeklySlot.weight)."""
    return calendar.slot_weights(channel.schedule, channel.timezone, [at])[0]


def _blocked(channel_id: str, score: int, reasons: list[str]) -> Placement:
    return Placement(channel_id, None, score, SLOT_WEIGHT, 0, blockers=tuple(reasons))
