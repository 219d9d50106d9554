"""Safe candidate pruning, certified by reduced costs.

1. Keep each channel's best candidates, as deep as its list must go for the videos it can
   expect to get, and each video's best few (`allocator.keep_set`).
2. Solve the exact flow on the kept set (`allocator.flow`) and read its integer duals.
3. Price the dropped candidates: reduced cost = weight - (video dual + channel dual + group
   dual + cheapest slot of its window, day dual + slot dual). Positive: a violator. Only those
   whose weight - video dual - channel dual (an upper bound: the other terms are >= 0) comes
   within the near margin get the full price (`price_dropped`).
4. Add the violators and the near-violators (reduced cost above -margin, a share of the mean
   score: the next round's violators once the duals move), re-solve, until there is none.

Why it is safe: the LP in `allocator.problem` has, for any non-negative duals y, the upper
bound  B(y) = sum_rows rhs * y + sum_over_ALL_candidates max(0, reduced cost).  At the flow
optimum on the kept set, B restricted to the kept candidates equals the kept optimum (strong
duality of the flow, whose network is that LP). When no dropped candidate has a positive
reduced cost, B over all candidates is the same number, so the kept optimum is an optimum of
the full problem, and B is its certificate (checked again by `allocator.checker`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocator.entries import expand_ranges
from allocator.flow import FlowResult, solve_flow
from allocator.keep_set import FILL_FACTOR, KEEP_FACTOR, initial_keep
from allocator.limits import channel_min_extra, limit_row_value, slot_extra, vp_dual
from allocator.problem import AllocationProblem, BoolArray, DualCertificate, Int64Array

_INF = np.int64(1) << 62


@dataclass(frozen=True, eq=False)
class PrunedFlow:
    """The certified flow optimum over the full candidate set, computed on a kept subset."""

    flow: FlowResult
    kept: Int64Array  # candidate indices the last flow was solved on
    tight: Int64Array  # the kept ones with reduced cost >= 0: only they can be in an optimum
    rounds: int
    weighted_bound: int  # B(y) over all candidates (weighted objective)
    seconds: float


class RangeMin:
    """Sparse table for vectorised range-minimum queries over a fixed int64 array."""

    def __init__(self, values: Int64Array) -> None:
        levels = [np.asarray(values, np.int64)]
        k = 1
        while 2 * k <= len(values):
            prev = levels[-1]
            levels.append(np.minimum(prev[: len(prev) - k], prev[k:]))
            k *= 2
        self._levels = levels

    def query(self, lo: Int64Array, hi: Int64Array) -> Int64Array:
        """min(values[lo:hi]) per query; +inf (2**62) for empty ranges."""
        out = np.full(len(lo), _INF, np.int64)
        ok = hi > lo
        if not np.any(ok):
            return out
        length = (hi - lo)[ok]
        j = np.floor(np.log2(length)).astype(np.int64)
        lo_ok, hi_ok = lo[ok], hi[ok]
        res = np.full(len(lo_ok), _INF, np.int64)
        for level in np.unique(j):
            sel = j == level
            arr = self._levels[level]
            width = 1 << int(level)
            res[sel] = np.minimum(arr[lo_ok[sel]], arr[hi_ok[sel] - width])
        out[ok] = res
        return out


def candidate_prices(
    problem: AllocationProblem, duals: DualCertificate, cand: Int64Array
) -> Int64Array:
    """The cheapest LP entry of each candidate under `duals` (scaled by the denominator).

    Unusable candidates (no slot in their window) get +inf: they have no LP column.
    """
    p = problem
    vid = p.cand_video[cand].astype(np.int64)
    ch = p.cand_channel[cand].astype(np.int64)
    price = duals.video[vid] + duals.channel[ch] + group_price(p, duals, vid, ch)
    price = price + vp_dual(p, duals, cand)
    lo, hi = p.slot_range(cand)
    free = (lo == p.channel_slot_ptr[ch]) & (hi == p.channel_slot_ptr[ch + 1]) & (hi > lo)
    timed = duals.timed_video[vid]
    # Windows and parts price every slot; a free candidate takes its channel's cheapest.
    extra = slot_extra(p, duals)
    entry = channel_min_extra(p, extra)[ch]
    win = np.flatnonzero(~free & ~timed)
    if len(win):
        # A windowed candidate enters the LP through any slot of its window.
        slot_price = duals.cday[p.slot_cday] + duals.slot + extra
        entry[win] = RangeMin(slot_price).query(lo[win], hi[win])
    tim = np.flatnonzero(timed)
    if len(tim):
        entry[tim] = timed_entry_prices(p, duals, cand[tim], lo[tim], hi[tim], extra)
    return np.where(entry >= _INF, _INF, price + entry)


def group_price(
    p: AllocationProblem, duals: DualCertificate, vid: Int64Array, ch: Int64Array
) -> Int64Array:
    """The same-source group dual each (video, channel) pays (0 outside a group row)."""
    if len(duals.group_key) == 0:
        return np.zeros(len(vid), np.int64)
    gkey = p.video_source[vid].astype(np.int64) * max(p.num_channels, 1) + ch
    pos = np.minimum(np.searchsorted(duals.group_key, gkey), len(duals.group_key) - 1)
    return np.where(duals.group_key[pos] == gkey, duals.group_value[pos], 0)


def timed_entry_prices(
    problem: AllocationProblem,
    duals: DualCertificate,
    cand: Int64Array,
    lo: Int64Array,
    hi: Int64Array,
    extra: Int64Array | None = None,
) -> Int64Array:
    """Cheapest slot entry (day + slot + windows + covering spacing rows) of timed candidates."""
    p = problem
    owner, slot = expand_ranges(lo, hi)
    vid = p.cand_video[cand].astype(np.int64)[owner]
    t = p.slot_time[slot]
    ok = ~near_pin(p, vid, t)
    cost = duals.cday[p.slot_cday[slot]] + duals.slot[slot]
    if extra is not None:
        cost = cost + extra[slot]
    cost = cost + spacing_cover(p, duals, vid, t)
    cost = np.where(ok, cost, _INF)
    out = np.full(len(cand), _INF, np.int64)
    np.minimum.at(out, owner, cost)
    return out


def near_pin(problem: AllocationProblem, vid: Int64Array, t: Int64Array) -> BoolArray:
    """True where time t is less than min_hours_between from a pin of video vid."""
    p = problem
    gap = p.spacing_seconds
    if gap <= 0 or len(p.pin_video) == 0:
        return np.zeros(len(vid), bool)
    order = np.lexsort((p.pin_time, p.pin_video))
    pv = p.pin_video[order].astype(np.int64)
    pt = p.pin_time[order]
    # Pins of video v are pv == v; find the first pin time >= t - gap + 1 among them.
    key_p = (pv << 42) + (pt - p.time_origin + (1 << 41))
    key_q = (vid << 42) + (t - gap + 1 - p.time_origin + (1 << 41))
    pos = np.searchsorted(key_p, key_q)
    pos_c = np.minimum(pos, len(pv) - 1)
    return (pos < len(pv)) & (pv[pos_c] == vid) & (pt[pos_c] < t + gap)


def spacing_cover(
    problem: AllocationProblem, duals: DualCertificate, vid: Int64Array, t: Int64Array
) -> Int64Array:
    """Sum of the spacing duals of video vid whose window [T, T + gap) contains t."""
    if len(duals.spacing_video) == 0:
        return np.zeros(len(vid), np.int64)
    p = problem
    gap = p.spacing_seconds
    order = np.lexsort((duals.spacing_start, duals.spacing_video))
    sv = duals.spacing_video[order].astype(np.int64)
    st = duals.spacing_start[order]
    prefix = np.concatenate([[0], np.cumsum(duals.spacing_value[order])])
    key = (sv << 42) + (st - p.time_origin + (1 << 41))
    # Windows containing t: t - gap < T <= t.
    hi = np.searchsorted(key, (vid << 42) + (t - p.time_origin + (1 << 41)), side="right")
    lo = np.searchsorted(key, (vid << 42) + (t - gap - p.time_origin + (1 << 41)), side="right")
    return prefix[hi] - prefix[lo]


def reduced_costs(
    problem: AllocationProblem, duals: DualCertificate, cand: Int64Array
) -> Int64Array:
    """denominator * weight - price for candidates `cand` (very negative when unusable).

    On a leveled channel (`allocator.weights`) a candidate is worth score * factor of the
    slot it takes: its reduced cost is the best over the weight levels of its channel.
    """
    cand = np.asarray(cand, np.int64)
    if len(cand) <= _RC_CHUNK:
        return _reduced_costs(problem, duals, cand)
    # In chunks: a few million candidates' temporaries cost more in fresh memory than in
    # arithmetic (L-Q: 5.9 s in one piece).
    return np.concatenate(
        [
            _reduced_costs(problem, duals, cand[i : i + _RC_CHUNK])
            for i in range(0, len(cand), _RC_CHUNK)
        ]
    )


def _reduced_costs(p: AllocationProblem, duals: DualCertificate, cand: Int64Array) -> Int64Array:
    on_leveled = p.channel_leveled[p.cand_channel[cand]]
    rc = np.empty(len(cand), np.int64)
    flat = np.flatnonzero(~on_leveled)
    if len(flat):
        c = cand[flat]
        weight = p.cand_score[c] * p.channel_factor[p.cand_channel[c]] + duals.fill_weight
        price = candidate_prices(p, duals, c)
        rc[flat] = np.where(price >= _INF, -_INF, weight * duals.denominator - price)
    leveled = np.flatnonzero(on_leveled)
    if len(leveled):
        rc[leveled] = _leveled_reduced_costs(p, duals, cand[leveled])
    return rc


def _leveled_reduced_costs(
    p: AllocationProblem, duals: DualCertificate, cand: Int64Array
) -> Int64Array:
    """Reduced costs of candidates of leveled channels: max over the factors f of their
    channel of (score * f + fill weight) * denominator - the cheapest entry at factor f."""
    vid = p.cand_video[cand].astype(np.int64)
    ch = p.cand_channel[cand].astype(np.int64)
    base = duals.video[vid] + duals.channel[ch] + vp_dual(p, duals, cand)
    base = base + group_price(p, duals, vid, ch)
    lo, hi = p.slot_range(cand)
    timed = duals.timed_video[vid]
    extra = slot_extra(p, duals)
    slot_cost = duals.cday[p.slot_cday] + duals.slot + extra
    free = (lo == p.channel_slot_ptr[ch]) & (hi == p.channel_slot_ptr[ch + 1]) & ~timed
    best = np.full(len(cand), -_INF, np.int64)
    for f in np.unique(p.slot_factor[p.channel_leveled[p.slot_channel]]).tolist():
        at_f = p.slot_factor == f
        entry = np.full(len(cand), _INF, np.int64)
        # Free: the channel's cheapest slot of factor f (window and part duals only).
        table = np.full(p.num_channels, _INF, np.int64)
        np.minimum.at(table, p.slot_channel[at_f], extra[at_f])
        entry[free] = table[ch[free]]
        win = np.flatnonzero(~free & ~timed)
        if len(win):
            entry[win] = RangeMin(np.where(at_f, slot_cost, _INF)).query(lo[win], hi[win])
        tim = np.flatnonzero(timed)
        if len(tim):
            owner, slot = expand_ranges(lo[tim], hi[tim])
            ok = at_f[slot] & ~near_pin(p, vid[tim][owner], p.slot_time[slot])
            cost = slot_cost[slot] + spacing_cover(p, duals, vid[tim][owner], p.slot_time[slot])
            cheapest = np.full(len(tim), _INF, np.int64)
            np.minimum.at(cheapest, owner[ok], cost[ok])
            entry[tim] = cheapest
        value = (p.cand_score[cand] * f + duals.fill_weight) * duals.denominator
        best = np.maximum(best, np.where(entry >= _INF, -_INF, value - entry))
    return np.where(best <= -_INF, -_INF, best - base)


def row_value(problem: AllocationProblem, duals: DualCertificate) -> int:
    """sum_rows rhs * dual (scaled by the denominator)."""
    p = problem
    return int(
        (p.video_capacity.astype(np.int64) * duals.video).sum()
        + (p.channel_free * duals.channel).sum()
        + (p.cday_free * duals.cday).sum()
        + duals.slot.sum()
        + duals.group_value.sum()
        + duals.spacing_value.sum()
        + limit_row_value(p, duals)
    )


# Dropped candidates within this share of the mean |score| of a positive reduced cost join the
# violators: the duals move when violators are added, and the next near-violators would be the
# next round's violators. At 1,500 channels only adding violators took 4-5 flow solves from
# 20k videos up; with the margin 2 (measured in bench/growth.py).
NEAR_SHARE = 0.1
# After the first solve, kept candidates whose reduced cost is below -(this x the margin) leave
# the keep set (they are priced with the dropped ones from then on; later rounds only add):
# the next flow solves on fewer arcs. At 1,500 channels the second solve had 1.20M -> 1.11M arcs
# (50k), 1.03M -> 0.92M (20k), 0.41M -> 0.27M (10k), same rounds; 1.0 and 0.5 shrank 50k
# further (0.74M, 0.44M) but took a third solve at 20k.
SHRINK_MARGINS = 2.0
_RC_CHUNK = 1 << 19  # candidates priced at once by reduced_costs
_PRICE_CHUNK = 4_000_000  # candidates bounded at once: caps the temporaries at 100k x 1,500


def near_margin(problem: AllocationProblem, share: float = NEAR_SHARE) -> int:
    """The reduced cost (in weight units) above -margin that makes a dropped candidate near."""
    if problem.num_candidates == 0:
        return 1
    factor = float(problem.channel_factor[problem.cand_channel].mean())
    return max(1, int(share * factor * float(np.abs(problem.cand_score).mean())))


def price_dropped(
    problem: AllocationProblem, duals: DualCertificate, keep: BoolArray, margin: int
) -> tuple[Int64Array, Int64Array]:
    """(candidates, reduced costs) of every dropped candidate with reduced cost > -margin.

    Incremental: a reduced cost is at most denominator * weight - video dual - channel dual
    (every other dual and entry price is >= 0), so only the candidates whose bound exceeds
    -margin get the full price (windows, groups); the rest cost two gathers each.
    """
    p = problem
    found: list[Int64Array] = []
    for start in range(0, p.num_candidates, _PRICE_CHUNK):
        sl = slice(start, min(start + _PRICE_CHUNK, p.num_candidates))
        factor = p.channel_factor[p.cand_channel[sl]]  # a leveled channel's largest
        bound = (p.cand_score[sl] * factor + duals.fill_weight) * duals.denominator
        bound -= duals.video[p.cand_video[sl]]
        bound -= duals.channel[p.cand_channel[sl]]
        found.append(start + np.flatnonzero((bound > -margin) & ~keep[sl]))
    cand = np.concatenate(found) if found else np.zeros(0, np.int64)
    rc = reduced_costs(p, duals, cand)
    near = rc > -margin
    return cand[near], rc[near]


def prune_and_solve(
    problem: AllocationProblem,
    factor: float = KEEP_FACTOR,
    max_rounds: int = 100,
    fill: float = FILL_FACTOR,
    near_share: float = NEAR_SHARE,
    start: Int64Array | None = None,
) -> PrunedFlow:
    """The flow optimum over all candidates, solved on a pruned set and certified.

    Each round adds the violators and the near-violators (`price_dropped`) and re-solves.
    `factor`, `fill`: the first keep set (`allocator.keep_set.initial_keep`); `start`:
    candidates to keep from the first round on (a related problem's kept set).
    """
    t0 = time.perf_counter()
    keep = initial_keep(problem, factor, fill)
    if start is not None:
        keep[start] = True
    margin = near_margin(problem, near_share)
    rounds = 0
    while True:
        rounds += 1
        kept = np.flatnonzero(keep)
        flow = solve_flow(problem, kept)
        near, rc_near = price_dropped(problem, flow.duals, keep, margin)
        violation = rc_near[rc_near > 0]
        if len(violation) == 0 or rounds >= max_rounds:
            break
        # How far the duals are off shows in the violations: near-violators are added within
        # their 90th percentile, at most the margin (at 100k x 1,500 the whole margin added
        # 2.4M candidates for few, small violations).
        within = min(margin, int(np.percentile(violation, 90)))
        if rounds == 1 and SHRINK_MARGINS > 0:
            rc_kept = reduced_costs(problem, flow.duals, kept)
            keep[kept[rc_kept < -SHRINK_MARGINS * margin]] = False
        keep[near[rc_near > -within]] = True
    # Dropped candidates that are not near have a negative reduced cost: they add nothing.
    rc_kept = reduced_costs(problem, flow.duals, kept)
    rc_all_pos = int(np.maximum(rc_kept, 0).sum()) + int(np.maximum(rc_near, 0).sum())
    bound = row_value(problem, flow.duals) + rc_all_pos
    return PrunedFlow(
        flow=flow,
        kept=kept,
        tight=kept[rc_kept >= 0],
        rounds=rounds,
        weighted_bound=bound,
        seconds=time.perf_counter() - t0,
    )
