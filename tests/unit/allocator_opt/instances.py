"""Small random allocation problems for the property tests, and a brute-force optimum."""

from __future__ import annotations

import itertools

import numpy as np

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
            used_v[v] += 1
            used_pair.add((v, c))
            used_group.add((g, c))
            times[v].append(t)
            rec(s + 1, fill + 1, score + int(p.cand_score[e]))
            times[v].pop()
            used_group.discard((g, c))
            used_pair.discard((v, c))
            used_v[v] -= 1

    rec(0, 0, 0)
    return best


__all__ = ["brute_force", "itertools", "random_problem"]
