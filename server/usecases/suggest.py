"""SuggestPlacements: where one video would serve best, ranked, and why the other channels
cannot take it.

Priced by direct evaluation: the same filters and score as Explain and AutoDistribute, each
channel's calendar in its own timezone (`free_slot.first_free_slot`, day by day), and the live
distributions of every channel read in one statement. Each channel that can take the video
offers its best slot: the first free one, else the slot of its lowest-value AUTO_* holder
that is not leased yet and is worth less than this video there (`displaces`). Slots carry no
weights yet, so every slot of a channel is worth `score * 1.0`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from allocator import domain as d
from allocator import filters, free_slot, scoring
from persistence.base import utcnow
from persistence.enums import DistributionMethod, DistributionState
from persistence.repositories import Repositories
from server.usecases import lookups
from server.usecases.availability import channel_blockers, video_blockers
from server.usecases.domain_values import channels_to_domain, video_to_domain
from server.usecases.errors import NotFound

DEFAULT_LIMIT = 5
DEFAULT_HORIZON = timedelta(days=14)
SLOT_WEIGHT = 1.0
# Tuples, not sets: membership compares by identity first, where a set would hash each
# StrEnum member read back through Enum.__hash__ (Python code, thousands of rows a call).
_AUTO = (DistributionMethod.AUTO_FILTER, DistributionMethod.AUTO_SCHEDULE)
_NOT_LEASED = (DistributionState.ASSIGNED, DistributionState.SCHEDULED)


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
    """A live distribution on a channel. A tuple, not a dataclass: a call reads one for every
    live row of every eligible channel over the horizon (thousands at 500 channels)."""

    at: datetime
    distribution_id: str
    movable: bool
    score: int


def suggest(repos: Repositories, command: SuggestCommand) -> list[Placement]:
    """The options best value first (then earlier slot, then channel id), then the blocked
    channels in channel order. Four statements whatever the number of channels."""
    now = utcnow()
    end = command.end or now + DEFAULT_HORIZON
    video = lookups.video(repos, command.video_id, "video_id")
    rows = _channels(repos, command.channel_ids)
    channels = channels_to_domain(rows, repos.channels.configs)
    duplicates = repos.distributions.live_duplicates(
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
    holders = _holders(repos, [c for c, _ in scored], now, end)
    options: list[Placement] = []
    for channel, score in scored:
        option = _best_slot(channel, score, holders[channel.id], now, end)
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


def _holders(
    repos: Repositories, channels: list[d.Channel], now: datetime, end: datetime
) -> dict[str, list[_Holder]]:
    """Each channel's live distributions in `_holders_window`, in one statement."""
    found: defaultdict[str, list[_Holder]] = defaultdict(list)
    lo, hi = _holders_window(channels, now, end)
    rows = repos.distributions.slot_holders([c.id for c in channels], lo, hi)
    for channel_id, at, row_id, method, state, score in rows:
        movable = method in _AUTO and state in _NOT_LEASED
        found[channel_id].append(_Holder(at, row_id, movable, score))
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


def _best_slot(
    channel: d.Channel, score: int, holders: list[_Holder], now: datetime, end: datetime
) -> Placement | None:
    value = round(score * SLOT_WEIGHT)
    # Sorted once, so that each window the slot search asks for is two bisections rather than
    # a pass over every holder.
    instants = sorted(h.at for h in holders)

    def taken_between(lo: datetime, hi: datetime) -> list[datetime]:
        return instants[bisect_left(instants, lo) : bisect_left(instants, hi)]

    free = free_slot.first_free_slot(channel.schedule, channel.timezone, now, end, taken_between)
    if free is not None:
        return Placement(channel.id, free, score, SLOT_WEIGHT, value)
    # No free slot: the cheapest holder this video would beat, earliest first.
    weaker = [h for h in holders if h.movable and now <= h.at < end and h.score < value]
    if not weaker:
        return None
    target = min(weaker, key=lambda h: (h.score, h.at))
    return Placement(channel.id, target.at, score, SLOT_WEIGHT, value, target.distribution_id)


def _blocked(channel_id: str, score: int, reasons: list[str]) -> Placement:
    return Placement(channel_id, None, score, SLOT_WEIGHT, 0, blockers=tuple(reasons))
