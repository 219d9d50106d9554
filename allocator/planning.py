"""From stored state to an allocation problem, and from a plan back to reasons.

`build_instance` turns the videos and channels in scope, their live distributions and the
channels' calendars into an `AllocationProblem` (candidates, free slots, capacities, windows,
pins, quota windows, platform caps). Pairs that cannot be candidates are accounted for, so
that every video left out of the plan gets one reason (`skipped_videos`): not READY, outside
its window, at its channel limit, no eligible channel, duplicate everywhere, channels
unavailable, no free slot, or outscored.
`planned_pairs` reads a solved plan back as domain values with each score's breakdown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from allocator import calendar, filters, scoring
from allocator import domain as d
from allocator.candidates import VideoTable, build_candidates
from allocator.pair_filter import PairRules, by_channel, filter_pairs
from allocator.planning_limits import ScopePool, limit_fields
from allocator.problem import AllocationProblem, Mode, Plan
from allocator.release import Released, release_candidates, release_slots

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LivePair:
    """A live distribution, as far as planning cares."""

    video_id: str
    channel_id: str
    source_url: str
    scheduled_at: datetime
    platform: str = ""  # its channel's platform (read only when the run caps platforms)


@dataclass(frozen=True)
class Scope:
    """What one AutoDistribute run plans over."""

    mode: Mode
    videos: Sequence[d.Video]
    channels: Sequence[d.Channel]
    channel_unavailable_until: Sequence[datetime | None]  # None: available (or never returns)
    channel_takes_work: Sequence[bool]  # False: inactive, or unavailable past the horizon
    live: Sequence[LivePair]
    start: datetime
    end: datetime
    max_channels_per_video: int
    min_score: int
    min_hours_between: int
    time_limit_seconds: float
    #: Re-planning: distributions the plan may move or drop (not in `live`), and what leaving
    #: its channel costs one of them.
    released: Sequence[Released] = ()
    change_penalty: int = 0
    #: Platform limits: the quota pools of the channels, each channel's platform, and how
    #: many live channels of one platform may carry a video (0: no cap).
    quota_pools: Sequence[ScopePool] = ()
    channel_platforms: Sequence[str] = ()
    max_channels_per_platform: int = 0


@dataclass(frozen=True)
class Instance:
    """The problem, the id tables behind its indices, and why pairs were left out."""

    problem: AllocationProblem
    videos: Sequence[d.Video]
    channels: Sequence[d.Channel]
    slot_times: list[datetime]
    eligible_count: Int64Array  # per video: channels whose filters it passes
    best_eligible_score: Int64Array  # per video: its best score on any eligible channel
    video_skip: list[tuple[str, str] | None]  # per video: (code, reason) known before solving
    pair_skip_codes: dict[int, set[str]]  # per video: why eligible pairs were dropped
    scope: Scope | None = None
    #: Per released distribution: its candidate (-1: none: it can only be dropped) and its
    #: slot among the free slots (-1: no longer a free slot of its channel).
    released_candidate: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    released_slot: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    #: The weight of each free slot (`d.WeeklySlot.weight`), in slot order.
    slot_weights: list[float] = field(default_factory=list)


def _free_slots(
    scope: Scope, taken: dict[str, list[datetime]], released: dict[str, list[datetime]]
) -> list[list[datetime]]:
    """Each channel's free slots. A released distribution's slot counts as taken for the day
    caps and is then given back, so that an unchanged plan fits where it was."""
    result: list[list[datetime]] = []
    for channel, until, takes in zip(
        scope.channels, scope.channel_unavailable_until, scope.channel_takes_work, strict=True
    ):
        if not takes:
            result.append([])
            continue
        sched = channel.schedule
        mine = released.get(channel.id, [])
        on_calendar = calendar.slot_times(sched, channel.timezone, scope.start, scope.end)
        free = calendar.free_slots(
            on_calendar,
            taken.get(channel.id, []) + mine,
            channel.timezone,
            sched.max_posts_per_day,
        )
        if mine:
            free = sorted(set(free) | (set(mine) & set(on_calendar)))
        # A channel that returns from an outage inside the horizon keeps its later slots.
        result.append([t for t in free if until is None or t >= until])
    return result


def build_instance(scope: Scope) -> Instance:
    """The allocation problem of `scope`, with the bookkeeping for skip reasons."""
    videos, channels = scope.videos, scope.channels
    n_videos = len(videos)
    video_index = {v.id: i for i, v in enumerate(videos)}
    channel_index = {c.id: j for j, c in enumerate(channels)}

    taken: dict[str, list[datetime]] = {}
    live_pairs: set[tuple[int, int]] = set()
    live_sources: set[tuple[str, int]] = set()
    live_count = np.zeros(n_videos, np.int64)
    pins: list[tuple[int, int, int]] = []
    platform_uses: Counter[tuple[int, str]] = Counter()
    for pair in scope.live:
        taken.setdefault(pair.channel_id, []).append(pair.scheduled_at)
        j = channel_index.get(pair.channel_id, -1)
        live_sources.add((pair.source_url, j))
        i = video_index.get(pair.video_id)
        if i is None:
            continue
        live_count[i] += 1
        platform_uses[(i, pair.platform)] += 1
        live_pairs.add((i, j))
        if j >= 0:
            pins.append((i, j, int(pair.scheduled_at.timestamp())))

    table = VideoTable.from_videos(videos)
    cands = build_candidates(table, channels)

    video_skip: list[tuple[str, str] | None] = [None] * n_videos
    start_s, end_s = int(scope.start.timestamp()), int(scope.end.timestamp())
    window_start, window_end = table.window_start, table.window_end
    capacity = np.maximum(0, scope.max_channels_per_video - live_count).astype(np.int32)
    for i, v in enumerate(videos):
        if v.state is not d.VideoState.READY:
            video_skip[i] = ("VIDEO_NOT_READY", f"video is {v.state.value}, not READY")
        elif window_start[i] >= end_s or window_end[i] <= start_s:
            video_skip[i] = ("OUTSIDE_WINDOW", "video's availability window misses the horizon")
        elif capacity[i] == 0:
            video_skip[i] = (
                "AT_CHANNEL_LIMIT",
                f"already live on {int(live_count[i])} channel(s), the limit is "
                f"{scope.max_channels_per_video}",
            )

    # Same-source groups; a video without a source URL is a group of its own (it duplicates
    # nothing), and `sources` has no "" key, so no live row can mark it a duplicate either.
    sources = table.source_ids
    video_source = table.source.astype(np.int64)
    no_url = video_source < 0
    video_source[no_url] = len(sources) + np.arange(int(no_url.sum()))

    released: dict[str, list[datetime]] = {}
    for r in scope.released:
        released.setdefault(r.channel_id, []).append(r.scheduled_at)
    free = _free_slots(scope, taken, released)
    slot_channel = np.repeat(np.arange(len(channels), dtype=np.int32), [len(f) for f in free])
    slot_times_flat = [t for f in free for t in f]
    slot_time = np.array([int(t.timestamp()) for t in slot_times_flat], np.int64)
    weights = [
        w
        for j, f in enumerate(free)
        for w in calendar.slot_weights(channels[j].schedule, channels[j].timezone, f)
    ]
    slot_day = np.array(
        [
            calendar.local_day(t, channels[j].timezone).toordinal()
            for j, f in enumerate(free)
            for t in f
        ],
        np.int32,
    )

    rules = PairRules(
        skipped_video=np.array([s is not None for s in video_skip], bool),
        video_source=video_source,
        takes_work=np.array(scope.channel_takes_work, bool),
        has_free_slot=np.array([len(f) > 0 for f in free], bool),
        min_score=scope.min_score,
        live_videos=by_channel((j, i) for i, j in live_pairs if j >= 0),
        live_sources=by_channel(
            (j, sources[url]) for url, j in live_sources if url in sources and j >= 0
        ),
    )
    pairs = filter_pairs(cands, rules, n_videos)
    cv, cc, cs = pairs.video, pairs.channel, pairs.score
    released_candidate = release_candidates(scope.released, video_index, channel_index, cv, cc)
    released_slot = release_slots(scope.released, channel_index, slot_channel, slot_time)
    # Keeping a released pair on its channel earns the penalty it would cost to move it.
    if np.any(released_candidate >= 0):
        cs = cs.copy()
        cs[released_candidate[released_candidate >= 0]] += scope.change_penalty

    limits: dict[str, Any] = {}
    if any(w != 1.0 for w in weights):
        # Hundredths, as the model counts them (`allocator.weights`).
        limits["slot_weight"] = np.clip(np.rint(np.array(weights) * 100), 1, 10_000)
    if scope.quota_pools or scope.max_channels_per_platform > 0:
        fields, _ = limit_fields(
            scope.quota_pools,
            channel_index,
            slot_channel,
            slot_time,
            scope.max_channels_per_platform,
            scope.channel_platforms or [""] * len(channels),
            platform_uses,
            cv,
            cc,
        )
        limits.update(fields)
    problem = AllocationProblem(
        **limits,
        mode=scope.mode,
        num_channels=len(channels),
        cand_video=cv,
        cand_channel=cc,
        cand_score=cs,
        video_capacity=capacity,
        video_source=video_source.astype(np.int32),
        video_window_start=window_start,
        video_window_end=window_end,
        slot_channel=slot_channel,
        slot_time=slot_time,
        slot_day=slot_day,
        pin_video=np.array([p[0] for p in pins], np.int32),
        pin_channel=np.array([p[1] for p in pins], np.int32),
        pin_time=np.array([p[2] for p in pins], np.int64),
        min_hours_between=scope.min_hours_between,
        time_limit_seconds=scope.time_limit_seconds,
    )
    return Instance(
        problem,
        videos,
        channels,
        slot_times_flat,
        pairs.eligible_count,
        pairs.best_score,
        video_skip,
        pairs.skip_codes,
        scope,
        released_candidate,
        released_slot,
        weights,
    )


_PAIR_REASONS = {
    "DUPLICATE": "already live (by video or source URL) on its eligible channels",
    "CHANNEL_UNAVAILABLE": "its eligible channels are inactive or unavailable",
    "BELOW_MIN_SCORE": "scores below min_score on its eligible channels",
    "NO_FREE_SLOT": "its eligible channels have no free slot in the horizon",
}


def skip_reason(instance: Instance, video: int, has_candidates: bool) -> tuple[str, str]:
    """(code, reason) for a video the plan left out."""
    known = instance.video_skip[video]
    if known is not None:
        return known
    if instance.eligible_count[video] == 0:
        return "NO_ELIGIBLE_CHANNEL", "fails the filters of every channel in scope"
    if has_candidates:
        return (
            "OUTSCORED",
            "every free slot of its eligible channels went to higher-scoring videos "
            "(or its availability window holds no free slot)",
        )
    codes = instance.pair_skip_codes.get(video, set())
    for code in ("DUPLICATE", "CHANNEL_UNAVAILABLE", "NO_FREE_SLOT", "BELOW_MIN_SCORE"):
        if codes == {code}:
            return code, _PAIR_REASONS[code]
    return "NO_USABLE_CHANNEL", "; ".join(_PAIR_REASONS[c] for c in sorted(codes)) or "none"


@dataclass(frozen=True)
class PlannedPair:
    """One assignment of a plan, as domain values, with why it scores what it scores."""

    video: d.Video
    channel: d.Channel
    slot_time: datetime
    score: int
    breakdown: scoring.ScoreBreakdown
    transformations: tuple[d.Transformation, ...]
    best_eligible_score: int  # the video's best score on any eligible channel
    eligible_channels: int
    slot_weight: float = 1.0


def planned_pairs(instance: Instance, plan: Plan) -> Iterator[PlannedPair]:
    """The plan's assignments in plan order."""
    videos, channels, slot_times = instance.videos, instance.channels, instance.slot_times
    # Each channel's rules compiled once, not looked up (hashing the channel) once per pair.
    rules: dict[int, filters.ChannelRules] = {}
    columns = zip(
        plan.video.tolist(),
        plan.channel.tolist(),
        plan.slot.tolist(),
        plan.score.tolist(),
        instance.best_eligible_score[plan.video].tolist(),
        instance.eligible_count[plan.video].tolist(),
        strict=True,
    )
    for i, j, slot, total, best, eligible in columns:
        video, channel = videos[i], channels[j]
        if j not in rules:
            rules[j] = filters.compile_rules(channel)
        match = filters.evaluate(video, rules[j])
        yield PlannedPair(
            video=video,
            channel=channel,
            slot_time=slot_times[slot],
            score=total,
            breakdown=scoring.score(video, channel, match),
            transformations=match.transformations,
            best_eligible_score=best,
            eligible_channels=eligible,
            slot_weight=instance.slot_weights[slot] if instance.slot_weights else 1.0,
        )


def skipped_videos(instance: Instance, plan: Plan) -> list[tuple[str, str, str]]:
    """(video_id, code, reason) of every video in scope that the plan left out."""
    n = len(instance.videos)
    assigned = np.zeros(n, bool)
    assigned[plan.video] = True
    has_candidates = np.zeros(n, bool)
    has_candidates[instance.problem.cand_video] = True
    return [
        (instance.videos[i].id, *skip_reason(instance, i, bool(has_candidates[i])))
        for i in map(int, np.flatnonzero(~assigned))
    ]
