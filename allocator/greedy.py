"""The greedy baseline: the first version everyone writes.

Videos in arrival (index) order; each takes its best-scoring channels, in score order, that
still have a free slot in its window (the earliest such slot), until it has its `k` channels.
Same-source, min_hours_between, quota window and platform cap rules are respected. No
bound: its plans carry none.

`place_in_order` is the same placement for a given list of candidates (used to turn a
relaxation's choice into a feasible starting point when spacing breaks the flow).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from allocator.limits import fits_limits, member_window
from allocator.problem import AllocationProblem, Int64Array, Plan, SolverStatus
from allocator.weights import total_value

_NO_BOUND = int(np.iinfo(np.int64).max)
_FILL_CHUNK = 65_536


class _Placer:
    """Free slots (union-find over "next free slot"), video uses, groups, spacing."""

    def __init__(self, problem: AllocationProblem) -> None:
        p = problem
        self.p = p
        self.parent = list(range(p.num_slots + 1))
        self.lo, self.hi = p.slot_range()
        self.ch_ptr = p.channel_slot_ptr.tolist()
        self.slot_time = p.slot_time.tolist()
        self.gap = p.spacing_seconds
        self.times: dict[int, list[int]] = {}
        if self.gap > 0:
            for v, t in zip(p.pin_video.tolist(), p.pin_time.tolist(), strict=True):
                self.times.setdefault(v, []).append(t)
        self.used_group: set[tuple[int, int]] = set()
        self.uses = np.zeros(p.num_videos, np.int64)
        # Quota windows left per window, the windows of each slot, platform cap rows left.
        self.limited = p.has_limits
        self.window_left = p.window_capacity.tolist()
        self.windows_of: dict[int, list[int]] = {}
        if self.limited:
            for w, s in zip(member_window(p).tolist(), p.window_slots.tolist(), strict=True):
                self.windows_of.setdefault(s, []).append(w)
        self.vp_row = p.cand_vp.tolist() if self.limited else []
        self.vp_left = p.vp_capacity.tolist()
        self.chosen: list[int] = []
        self.slots: list[int] = []
        for w in np.flatnonzero(p.window_capacity <= 0).tolist() if self.limited else ():
            self._close(w)

    def find(self, s: int) -> int:
        parent = self.parent
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    def channel_full(self, c: int) -> bool:
        return self.find(self.ch_ptr[c]) >= self.ch_ptr[c + 1]

    def spaced(self, v: int, s: int) -> bool:
        """Whether slot s keeps min_hours_between from video v's uses and pins."""
        t = self.slot_time[s]
        return self.gap <= 0 or all(abs(t - u) >= self.gap for u in self.times.get(v, ()))

    def _close(self, w: int) -> None:
        """A full window: its free slots are taken out as if used, so searches skip them."""
        ptr = self.p.window_slot_ptr
        for s in self.p.window_slots[ptr[w] : ptr[w + 1]].tolist():
            if self.parent[s] == s:
                self.parent[s] = s + 1

    def has_room(self, s: int) -> bool:
        """Whether every quota window holding slot s has a place left."""
        return all(self.window_left[w] > 0 for w in self.windows_of.get(s, ()))

    def capped(self, e: int) -> bool:
        """Whether candidate e's video has no channel of this platform left."""
        return self.limited and self.vp_row[e] >= 0 and self.vp_left[self.vp_row[e]] <= 0

    def place_at(self, e: int, s: int) -> bool:
        """Place candidate e in slot s if every rule allows it."""
        p = self.p
        v = int(p.cand_video[e])
        c = int(p.cand_channel[e])
        g = int(p.video_source[v])
        if self.uses[v] >= p.video_capacity[v] or (g, c) in self.used_group:
            return False
        if self.find(s) != s or not (self.lo[e] <= s < self.hi[e]) or not self.spaced(v, s):
            return False
        if self.limited and (self.capped(e) or not self.has_room(s)):
            return False
        self._take(e, s, v, c, g)
        return True

    def _take(self, e: int, s: int, v: int, c: int, g: int) -> None:
        self.parent[s] = s + 1
        self.chosen.append(e)
        self.slots.append(s)
        self.used_group.add((g, c))
        self.uses[v] += 1
        if self.gap > 0:
            self.times.setdefault(v, []).append(self.slot_time[s])
        if self.limited:
            for w in self.windows_of.get(s, ()):
                self.window_left[w] -= 1
                if self.window_left[w] == 0:
                    self._close(w)
            if self.vp_row[e] >= 0:
                self.vp_left[self.vp_row[e]] -= 1

    def try_place(self, e: int) -> bool:
        """Place candidate e in the earliest slot it may use; False when none is left."""
        p = self.p
        v = int(p.cand_video[e])
        c = int(p.cand_channel[e])
        g = int(p.video_source[v])
        if self.uses[v] >= p.video_capacity[v] or (g, c) in self.used_group or self.capped(e):
            return False
        times = self.times.get(v, [])
        s, hi = self.find(int(self.lo[e])), int(self.hi[e])
        while s < hi and (
            self.gap > 0 and any(abs(self.slot_time[s] - t) < self.gap for t in times)
        ):
            s = self.find(s + 1)
        if s >= hi:
            return False
        self._take(e, s, v, c, g)
        return True

    def plan(self, seconds: float) -> Plan:
        p = self.p
        cand = np.array(self.chosen, np.int64)
        return Plan(
            candidate=cand,
            video=p.cand_video[cand],
            channel=p.cand_channel[cand],
            slot=np.array(self.slots, np.int64),
            score=p.cand_score[cand],
            status=SolverStatus.FEASIBLE,
            objective=total_value(p, cand, np.array(self.slots, np.int64)),
            filled=len(cand),
            best_bound=_NO_BOUND,
            fill_bound=_NO_BOUND,
            gap=float("inf"),
            certificate=None,
            stats={"greedy_s": seconds},
        )


def greedy(problem: AllocationProblem) -> Plan:
    """The greedy plan (status FEASIBLE, no certificate)."""
    t0 = time.perf_counter()
    p = problem
    placer = _Placer(p)
    order = np.lexsort((-p.cand_score, p.cand_video))
    v_ptr = np.searchsorted(p.cand_video[order], np.arange(p.num_videos + 1))
    open_ch = np.array([not placer.channel_full(c) for c in range(p.num_channels)], bool)
    n_open = int(open_ch.sum())
    for v in range(p.num_videos):
        if p.video_capacity[v] == 0 or n_open == 0:
            continue
        idx = order[v_ptr[v] : v_ptr[v + 1]]
        # Skipping full channels in numpy keeps the Python loop short on big instances.
        for e in idx[open_ch[p.cand_channel[idx]]].tolist():
            if placer.try_place(e):
                c = int(p.cand_channel[e])
                if placer.channel_full(c):
                    open_ch[c] = False
                    n_open -= 1
                if placer.uses[v] >= p.video_capacity[v]:
                    break
    return placer.plan(time.perf_counter() - t0)


def place_in_order(problem: AllocationProblem, cands: Iterable[int]) -> Plan:
    """Place candidates in the given order, each in its earliest usable slot, skipping misfits."""
    t0 = time.perf_counter()
    placer = _Placer(problem)
    for e in cands:
        placer.try_place(int(e))
    return placer.plan(time.perf_counter() - t0)


def spread_repair(problem: AllocationProblem, chosen: Iterable[int], phase: float = 0.5) -> Plan:
    """Place a relaxation's chosen pairs with spacing in mind, then fill what is left greedily.

    Videos with the fewest usable slots go first; a video's pairs aim at evenly spread target
    times across its window (offset by `phase` of a spacing step) and take the free slot
    nearest to the target that keeps
    min_hours_between from its other uses. Pairs that do not fit are dropped, and the free
    slots left are then offered to every candidate in descending score order.
    """
    t0 = time.perf_counter()
    p = problem
    placer = _Placer(p)
    chosen_arr = np.asarray(list(chosen), np.int64)
    by_video: dict[int, list[int]] = {}
    for e in chosen_arr.tolist():
        by_video.setdefault(int(p.cand_video[e]), []).append(e)
    span = {v: sum(int(placer.hi[e] - placer.lo[e]) for e in es) for v, es in by_video.items()}
    used = np.zeros(p.num_slots, bool)
    st = placer.slot_time
    for v in sorted(by_video, key=lambda v: (span[v], v)):
        # Targets spread over the times the video's pairs can use, in the order their
        # windows open (slot indices of different channels are not comparable; times are).
        pairs = [e for e in by_video[v] if placer.hi[e] > placer.lo[e]]
        if not pairs:
            continue
        pairs.sort(key=lambda e: (st[int(placer.lo[e])], -int(p.cand_score[e]), e))
        t_lo = min(st[int(placer.lo[e])] for e in pairs)
        t_hi = max(st[int(placer.hi[e]) - 1] for e in pairs)
        for i, e in enumerate(pairs):
            target = t_lo + int((t_hi - t_lo) * (i + phase) / len(pairs))
            free = [
                s
                for s in range(int(placer.lo[e]), int(placer.hi[e]))
                if not used[s] and placer.spaced(v, s)
            ]
            if free:
                s = min(free, key=lambda s: (abs(placer.slot_time[s] - target), s))
                placer.place_at(e, s)
                used[s] = True
    _fill(placer)
    return placer.plan(time.perf_counter() - t0)


def _fill(placer: _Placer) -> None:
    """Offer the free slots left to every candidate, in descending score order."""
    p = placer.p
    order = np.argsort(-p.cand_score, kind="stable")
    open_ch = np.array([not placer.channel_full(c) for c in range(p.num_channels)], bool)
    for start in range(0, len(order), _FILL_CHUNK):
        # Candidates of channels already full are dropped in numpy, a chunk at a time.
        chunk = order[start : start + _FILL_CHUNK]
        for e in chunk[open_ch[p.cand_channel[chunk]]].tolist():
            if placer.try_place(e):
                c = int(p.cand_channel[e])
                open_ch[c] = not placer.channel_full(c)


def fit_limits(
    problem: AllocationProblem, cand: Int64Array, slot: Int64Array, refill: bool = False
) -> tuple[Int64Array, Int64Array]:
    """The assignments made to fit every quota window and platform cap, then refilled.

    Assignments are kept in descending score order while their windows and caps have room
    (so an over-full window loses its weakest), then the free slots left are offered to every
    candidate as in `spread_repair`. Assignments that already fit come back unchanged, unless
    `refill` asks for their free slots to be offered too.
    """
    if not refill and fits_limits(problem, cand, slot):
        return cand, slot
    placer = _Placer(problem)
    for i in np.argsort(-problem.cand_score[cand], kind="stable").tolist():
        placer.place_at(int(cand[i]), int(slot[i]))
    _fill(placer)
    return np.array(placer.chosen, np.int64), np.array(placer.slots, np.int64)
