"""Large-neighbourhood search: two channels at a time re-solved by CP-SAT.

`_neighbourhood` cuts the problem down to the freed channels (every other assignment becomes a
pin, so spacing still sees it); `_lns` re-solves random pairs of channels from the current plan
as a complete hint, without presolve, and keeps every improvement until the time limit.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocator.cpsat import _better, _Clock, _decode, solve_cp
from allocator.model_matrix import build_matrix, hint_from_assignment
from allocator.problem import AllocationProblem, BoolArray, Int64Array

_LNS_CHANNELS = 2  # channels freed per neighbourhood
_LNS_STEP_S = 1.0  # CP-SAT time per neighbourhood (staggered: 0.5 s 40.01M, 1 s 40.04M, 2 s 40.03M)


def _neighbourhood(
    p: AllocationProblem, best: tuple[Int64Array, Int64Array], freed: Int64Array
) -> tuple[AllocationProblem, Int64Array, Int64Array, Int64Array, Int64Array, BoolArray]:
    """The problem left when every assignment off the channels `freed` stays as it is.

    Kept assignments become pins (their spacing still counts) and use up video capacity; the
    freed channels' slots and candidates are renumbered. Returns the sub-problem, the maps
    from its candidates and slots back to the problem's, the current assignments on the freed
    channels in the sub-problem's numbering, and which of `best`'s rows stay.
    """
    cand, slot = best
    cmap = np.full(p.num_channels, -1, np.int32)
    cmap[freed] = np.arange(len(freed))
    stay = cmap[p.cand_channel[cand]] < 0
    stay_vid = p.cand_video[cand[stay]]
    ce = np.flatnonzero(cmap[p.cand_channel] >= 0)
    sm = np.flatnonzero(cmap[p.slot_channel] >= 0)
    uses = np.bincount(stay_vid, minlength=p.num_videos)
    sub = AllocationProblem(
        mode=p.mode,
        num_channels=len(freed),
        cand_video=p.cand_video[ce],
        cand_channel=cmap[p.cand_channel[ce]],
        cand_score=p.cand_score[ce],
        video_capacity=np.maximum(p.video_capacity - uses, 0),
        video_source=p.video_source,
        video_window_start=p.video_window_start,
        video_window_end=p.video_window_end,
        slot_channel=cmap[p.slot_channel[sm]],
        slot_time=p.slot_time[sm],
        slot_day=p.slot_day[sm],
        pin_video=np.r_[p.pin_video, stay_vid],
        pin_channel=np.zeros(len(p.pin_video) + len(stay_vid), np.int32),  # only spacing
        pin_time=np.r_[p.pin_time, p.slot_time[slot[stay]]],
        min_hours_between=p.min_hours_between,
        time_limit_seconds=p.time_limit_seconds,
        num_workers=p.num_workers,
    )
    e_at = np.searchsorted(ce, cand[~stay])
    s_at = np.searchsorted(sm, slot[~stay])
    return sub, ce, sm, e_at, s_at, stay


def _lns(
    p: AllocationProblem,
    best: tuple[Int64Array, Int64Array],
    clock: _Clock,
    stats: dict[str, Any],
) -> tuple[Int64Array, Int64Array]:
    """Large-neighbourhood search: re-solve two channels at a time exactly-ish with CP-SAT.

    Everything off the freed channels stays (as pins for spacing); CP-SAT gets the slot-level
    model of the freed channels with the current assignments as a complete hint and no
    presolve, and a better neighbourhood replaces the current one.
    """
    rng = np.random.default_rng(0)
    steps = improved = 0
    t0 = time.perf_counter()
    while clock.left() > 1.0 and p.num_channels >= _LNS_CHANNELS:
        steps += 1
        freed = np.sort(rng.choice(p.num_channels, _LNS_CHANNELS, replace=False))
        sub, ce, sm, e_at, s_at, stay = _neighbourhood(p, best, freed)
        matrix = build_matrix(sub, np.arange(sub.num_candidates))
        hint = hint_from_assignment(sub, matrix, e_at, s_at)
        limit = min(_LNS_STEP_S, clock.left() - 0.2)
        res = solve_cp(matrix, hint, limit, p.num_workers, presolve=False)
        if res.columns is None:
            continue
        sc, ss = _decode(sub, matrix, res.columns)
        found = (np.r_[best[0][stay], ce[sc]], np.r_[best[1][stay], sm[ss]])
        if _better(p, found, best):
            best = found
            improved += 1
    stats.update(lns_steps=steps, lns_improved=improved, lns_s=time.perf_counter() - t0)
    return best
