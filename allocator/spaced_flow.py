"""The spaced flow certificate: the flow with capacities cut to what min_hours_between allows.

`spaced_capacity` counts, per pin-free timed video, the most uses spacing leaves it (interval
scheduling over the times its candidates may use) and the covering windows behind that count;
`spaced_flow_certificate` solves the flow on those capacities and moves each cut video's dual
onto its covering spacing windows: a `DualCertificate` whose bound holds for every plan that
respects min_hours_between.

`allocator.solve` compares it with the flow's and the LP's certificates, and places the spaced
flow's choice as one of its starting plans.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from allocator.entries import expand_ranges
from allocator.problem import AllocationProblem, DualCertificate, Int64Array
from allocator.pruning import prune_and_solve, reduced_costs, row_value

_SPACED_PAIRS_MAX = 20_000_000  # (candidate, slot) pairs the spaced capacities may enumerate


def spaced_capacity(p: AllocationProblem) -> tuple[Int64Array, Int64Array, Int64Array]:
    """How many uses min_hours_between leaves each pin-free timed video, and why.

    The greedy over the sorted times any candidate of v may use (earliest time, then the first
    time at least min_hours_between later, ...) finds the most uses spacing allows (interval
    scheduling), m_v, and its picks t_1..t_m: the windows [t_i, t_i + gap) cover every usable
    time of v (after t_i, nothing before t_{i+1} is usable by the greedy's choice). Returns
    (capacity min(k_v, m_v), video ids with m_v < k_v repeated per window, window starts).
    """
    cap = p.video_capacity.astype(np.int64)
    gap = p.spacing_seconds
    empty = np.zeros(0, np.int64)
    lo, hi = p.slot_range()
    if gap <= 0 or int((hi - lo).sum()) > _SPACED_PAIRS_MAX:
        return cap, empty, empty
    pinned = np.zeros(p.num_videos, bool)
    pinned[p.pin_video] = True
    use = np.flatnonzero(p.timed_videos[p.cand_video] & ~pinned[p.cand_video] & (hi > lo))
    owner, slot = expand_ranges(lo[use], hi[use])
    vid = p.cand_video[use][owner].astype(np.int64)
    key = np.unique((vid << 42) + (p.slot_time[slot] - p.time_origin))
    if len(key) == 0:
        return cap, empty, empty
    v_of = key >> 42
    nxt = np.searchsorted(key, key + gap, side="left")
    first = np.searchsorted(key, np.unique(v_of) << 42)
    videos = v_of[first]
    count = np.zeros(len(first), np.int64)
    picks: list[tuple[Int64Array, Int64Array]] = []
    cur = first.copy()
    active = np.ones(len(first), bool)
    for _ in range(int(cap[videos].max())):
        idx = np.flatnonzero(active)
        if len(idx) == 0:
            break
        count[idx] += 1
        picks.append((idx, cur[idx]))
        step = nxt[cur[idx]]
        ok = (step < len(key)) & (v_of[np.minimum(step, len(key) - 1)] == videos[idx])
        active[idx[~ok]] = False
        cur[idx[ok]] = step[ok]
    short = count < cap[videos]
    new_cap = cap.copy()
    new_cap[videos[short]] = count[short]
    w_vid = [videos[i][short[i]] for i, _ in picks]
    w_start = [(key[at] & ((1 << 42) - 1))[short[i]] + p.time_origin for i, at in picks]
    return new_cap, np.concatenate(w_vid), np.concatenate(w_start)


def spaced_flow_certificate(
    p: AllocationProblem,
) -> tuple[int, DualCertificate, float, Int64Array] | None:
    """The flow bound with capacities cut to what spacing allows, as an LP certificate.

    The flow is solved with k_v replaced by min(k_v, m_v) (`spaced_capacity`); each cut
    video's row dual moves onto its m_v covering spacing windows (each usable slot of v lies
    in one of them, so every entry of v still pays at least that dual, and the rows add
    m_v * dual as before). Returns (scaled value, certificate, seconds, the flow's chosen
    candidates) or None when no capacity is cut.
    """
    t0 = time.perf_counter()
    cap, w_vid, w_start = spaced_capacity(p)
    if len(w_vid) == 0:
        return None
    q = dataclasses.replace(p, video_capacity=cap.astype(np.int32))
    q_flow = prune_and_solve(q).flow
    flow = q_flow.duals
    cut = np.zeros(p.num_videos, bool)
    cut[w_vid] = True
    order = np.lexsort((w_start, w_vid))
    cert = dataclasses.replace(
        flow,
        video=np.where(cut, 0, flow.video),
        timed_video=flow.timed_video | cut,
        spacing_video=w_vid[order].astype(np.int32),
        spacing_start=w_start[order],
        spacing_value=flow.video[w_vid[order]],
    )
    rc = reduced_costs(p, cert, np.arange(p.num_candidates))
    total = row_value(p, cert) + int(np.maximum(rc, 0).sum())
    return total, cert, time.perf_counter() - t0, q_flow.chosen
