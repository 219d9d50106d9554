"""Small random allocation problems for the property tests, and a brute-force optimum."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from hypothesis import strategies as st

from allocator.problem import OPEN_END, OPEN_START, AllocationProblem, Mode

DAY = 86_400
T0 = 1_780_000_000 - 1_780_000_000 % DAY


def random_problem(
    seed: int,
    videos: int = 6,
    channels: int = 3,
    days: int = 3,
    max_slots_per_day: int = 2,
    density: float = 0.6,
    max_k: int = 2,
    windows: float = 0.3,
    groups: float = 0.3,
    mode: Mode = Mode.FILTER,
    min_hours_between: int = 0,
    pins: int = 0,
) -> AllocationProblem:
    """A random instance: scores, windows at slot precision, shared sources, pins."""
    rng = np.random.default_rng(seed)
    pairs = [(v, c) for v in range(videos) for c in range(channels) if rng.random() < density]
    cand_video = np.array([p[0] for p in pairs], np.int32)
    cand_channel = np.array([p[1] for p in pairs], np.int32)
    cand_score = rng.integers(0, 20, len(pairs))
    slot_channel, slot_time, slot_day = [], [], []
    for c in range(channels):
        for d in range(days):
            n = int(rng.integers(0, max_slots_per_day + 1))
            hours = sorted(rng.choice(24, size=n, replace=False).tolist())
            for h in hours:
                slot_channel.append(c)
                slot_time.append(T0 + d * DAY + h * 3600 + c * 600)
                slot_day.append(d)
    ws = np.full(videos, OPEN_START, np.int64)
    we = np.full(videos, OPEN_END, np.int64)
    for v in range(videos):
        if rng.random() < windows:
            a = T0 + int(rng.integers(0, days * 24)) * 3600
            b = a + int(rng.integers(1, days * 24)) * 3600
            if rng.random() < 0.5:
                ws[v] = a
            else:
                we[v] = b
            if rng.random() < 0.3:
                ws[v], we[v] = a, b
    source = np.arange(videos, dtype=np.int32)
    for v in range(1, videos):
        if rng.random() < groups:
            source[v] = source[int(rng.integers(0, v))]
    pin_video = rng.integers(0, videos, pins)
    pin_channel = rng.integers(0, channels, pins)
    pin_time = T0 + rng.integers(0, days * 24, pins) * 3600
    return AllocationProblem(
        mode=mode,
        num_channels=channels,
        cand_video=cand_video,
        cand_channel=cand_channel,
        cand_score=cand_score,
        video_capacity=rng.integers(0, max_k + 1, videos),
        video_source=source,
        video_window_start=ws,
        video_window_end=we,
        slot_channel=np.array(slot_channel, np.int32),
        slot_time=np.array(slot_time, np.int64),
        slot_day=np.array(slot_day, np.int32),
        pin_video=pin_video,
        pin_channel=pin_channel,
        pin_time=pin_time,
        min_hours_between=min_hours_between,
        time_limit_seconds=10.0,
    )


def brute_force(problem: AllocationProblem) -> tuple[int, int]:
    """(max fill, max score at that fill) or (0, max score) by enumerating slot assignments.

    Depth-first over slots: each slot takes one candidate of its channel or stays empty.
    Exponential: only for a dozen slots.
    """
    p = problem
    gap = p.spacing_seconds
    by_channel: dict[int, list[int]] = {}
    for e in range(p.num_candidates):
        by_channel.setdefault(int(p.cand_channel[e]), []).append(e)
    best = (-1, -(10**18))
    used_v = np.zeros(p.num_videos, np.int64)
    used_pair: set[tuple[int, int]] = set()
    used_group: set[tuple[int, int]] = set()
    times: dict[int, list[int]] = {
        int(v): [int(t) for t in p.pin_time[p.pin_video == v]] for v in range(p.num_videos)
    }
    schedule = p.mode is Mode.SCHEDULE
    windows_of: dict[int, list[int]] = {}
    for w in range(len(p.window_capacity)):
        for s in p.window_slots[p.window_slot_ptr[w] : p.window_slot_ptr[w + 1]].tolist():
            windows_of.setdefault(int(s), []).append(w)
    window_left = p.window_capacity.astype(np.int64).copy()
    vp_row = {
        (int(v), int(f)): r
        for r, (v, f) in enumerate(zip(p.vp_video.tolist(), p.vp_platform.tolist(), strict=True))
    }
    vp_left = p.vp_capacity.astype(np.int64).copy()

    def rec(s: int, fill: int, score: int) -> None:
        nonlocal best
        if s == p.num_slots:
            val = (fill, score) if schedule else (0, score)
            best = max(best, val)
            return
        rec(s + 1, fill, score)
        c = int(p.slot_channel[s])
        t = int(p.slot_time[s])
        for e in by_channel.get(c, []):
            v = int(p.cand_video[e])
            g = int(p.video_source[v])
            if used_v[v] >= p.video_capacity[v] or (v, c) in used_pair or (g, c) in used_group:
                continue
            if not (p.video_window_start[v] <= t < p.video_window_end[v]):
                continue
            if p.timed_videos[v] and any(abs(t - u) < gap for u in times[v]):
                continue
            wins = windows_of.get(s, [])
            platform = int(p.channel_platform[c]) if len(p.channel_platform) else -1
            row = vp_row.get((v, platform), -1)
            if any(window_left[w] <= 0 for w in wins) or (row >= 0 and vp_left[row] <= 0):
                continue
            window_left[wins] -= 1
            if row >= 0:
                vp_left[row] -= 1
            used_v[v] += 1
            used_pair.add((v, c))
            used_group.add((g, c))
            times[v].append(t)
            rec(s + 1, fill + 1, score + int(p.cand_score[e]) * int(p.slot_factor[s]))
            times[v].pop()
            used_group.discard((g, c))
            used_pair.discard((v, c))
            used_v[v] -= 1
            window_left[wins] += 1
            if row >= 0:
                vp_left[row] += 1

    rec(0, 0, 0)
    return best


def with_limits(
    problem: AllocationProblem,
    seed: int,
    pools: int = 2,
    rolling: bool = False,
    platforms: int = 0,
) -> AllocationProblem:
    """`problem` with quota pools over its channels and (video, platform) caps.

    Each channel joins one of `pools` pools or none (and, with `rolling`, maybe a second);
    a pool's windows are its calendar days from a random offset (a timezone of its own)
    or, with `rolling`, every 24 h span starting at one of its slots. Capacities 0-3, so
    most windows bind. `platforms` > 0 puts each channel on one platform and caps some
    (video, platform) pairs at 0-2 channels.
    """
    p = problem
    rng = np.random.default_rng(seed + 7_919)
    member = [rng.integers(-1, pools, p.num_channels) for _ in range(2 if rolling else 1)]
    caps: list[int] = []
    slots: list[list[int]] = []
    for pool in range(pools):
        mine = np.flatnonzero(
            np.isin(p.slot_channel, np.flatnonzero(np.any([m == pool for m in member], axis=0)))
        )
        times = p.slot_time[mine]
        if rolling:
            starts = np.unique(times)
            spans = [mine[(times >= t) & (times < t + DAY)] for t in starts.tolist()]
        else:
            offset = int(rng.integers(0, 24)) * 3600
            day = (times - offset) // DAY
            spans = [mine[day == d] for d in np.unique(day).tolist()]
        for span in spans:
            slots.append(span.tolist())
            caps.append(int(rng.integers(0, 4)))
    ptr = np.cumsum([0] + [len(x) for x in slots])
    fields: dict[str, object] = {
        "window_capacity": np.array(caps, np.int64),
        "window_slot_ptr": ptr,
        "window_slots": np.array([s for x in slots for s in x], np.int64),
    }
    if platforms:
        rows = [
            (v, f, int(rng.integers(0, 3)))
            for v in range(p.num_videos)
            for f in range(platforms)
            if rng.random() < 0.5
        ]
        fields.update(
            channel_platform=rng.integers(0, platforms, p.num_channels),
            vp_video=np.array([r[0] for r in rows], np.int32),
            vp_platform=np.array([r[1] for r in rows], np.int32),
            vp_capacity=np.array([r[2] for r in rows], np.int32),
        )
    return dataclasses.replace(p, **fields)  # type: ignore[arg-type]


def with_weights(problem: AllocationProblem, seed: int, share: float = 0.7) -> AllocationProblem:
    """`problem` with slot weights from 0.5 to 3 (in hundredths) on a share of its channels;
    the others keep 1.0 or weigh all their slots the same."""
    p = problem
    rng = np.random.default_rng(seed + 104_729)
    weights = np.full(p.num_slots, 100, np.int64)
    for c in range(p.num_channels):
        mine = p.slot_channel == c
        if rng.random() < share:
            weights[mine] = rng.choice([50, 100, 150, 200, 300], int(mine.sum()))
        elif rng.random() < 0.5:
            weights[mine] = int(rng.choice([50, 250]))
    return dataclasses.replace(p, slot_weight=weights)


def featured_problem(
    seed: int, mode: Mode, limited: bool, min_hours_between: int
) -> AllocationProblem:
    """A 12 x 4 instance for comparing ways of pricing: with `limited`, quota pools, platform
    caps and slot weights; with `min_hours_between`, spacing and two pins."""
    p = random_problem(
        seed,
        videos=12,
        channels=4,
        days=3,
        max_slots_per_day=3,
        mode=mode,
        min_hours_between=min_hours_between,
        pins=2 if min_hours_between else 0,
    )
    return with_weights(with_limits(p, seed, platforms=2), seed) if limited else p


#: `featured_problem`s over every seed, both modes, with and without limits and spacing.
featured_problems = st.builds(
    featured_problem,
    st.integers(min_value=0, max_value=2**31 - 1),
    st.sampled_from([Mode.FILTER, Mode.SCHEDULE]),
    st.booleans(),
    st.sampled_from([0, 30]),
)


__all__ = [
    "brute_force",
    "featured_problem",
    "featured_problems",
    "itertools",
    "random_problem",
    "with_limits",
    "with_weights",
]
