"""The LP relaxation of the model, its dual certificate, and column pricing.

`solve_lp` solves the relaxation of `allocator.model_matrix` with HiGHS and rounds its duals
into a `DualCertificate`. The same duals price columns: `useful_columns` is reduced-cost fixing
(the columns that can appear in a plan as good as the incumbent), and `sample_timed_pairs` /
`timed_pair_violators` drive column generation over the slot columns of timed candidates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from allocator.entries import expand_ranges
from allocator.limits import slot_extra, vp_dual
from allocator.model_matrix import (
    DAY,
    PART,
    ROW_CANDIDATE,
    ROW_CDAY,
    ROW_CHANNEL,
    ROW_GROUP,
    ROW_PART,
    ROW_SLOT,
    ROW_SPACING,
    ROW_VIDEO,
    ROW_VP,
    ROW_WINDOW,
    SLOT,
    ModelMatrix,
)
from allocator.problem import AllocationProblem, BoolArray, DualCertificate, Int64Array
from allocator.pruning import group_price, near_pin, spacing_cover

_NONE = np.zeros(0, np.int64)

LP_DENOMINATOR = 1 << 16


class LpError(RuntimeError):
    """HiGHS did not solve the LP relaxation (it is always feasible: x = 0)."""


@dataclass(frozen=True, eq=False)
class LpResult:
    """The LP relaxation's value and its duals as an integer certificate."""

    value: float
    duals: DualCertificate
    candidate_dual: Int64Array  # scaled dual of each candidate's "<= 1" (row or column bound)
    seconds: float
    iterations: int = 0  # HiGHS simplex iterations (deterministic: a measure of its work)


def solve_lp(problem: AllocationProblem, matrix: ModelMatrix, fill_weight: int = 0) -> LpResult:
    """LP relaxation (HiGHS dual simplex) of the model; duals rounded to 1/2**16.

    HiGHS through scipy takes the sparse matrix in one call (no per-variable Python), and
    returns row duals; any non-negative rounding of them is still a valid certificate, since
    `allocator.checker` absorbs the rounding into per-candidate terms.
    """
    t0 = time.perf_counter()
    p = problem
    weight = (matrix.col_score + fill_weight).astype(np.float64)
    if matrix.num_columns == 0:
        y = np.zeros(len(matrix.row_rhs))
        ub = np.zeros(0)
        value = 0.0
        iterations = 0
    else:
        res = linprog(
            -weight,
            A_ub=matrix.rows.astype(np.float64),
            b_ub=matrix.row_rhs.astype(np.float64),
            bounds=(0, 1),
            method="highs-ds",
        )
        if res.status != 0:
            raise LpError(f"LP relaxation failed: {res.message}")
        y = np.maximum(0.0, -np.asarray(res.ineqlin.marginals))
        ub = np.maximum(0.0, -np.asarray(res.upper.marginals))
        value = float(-res.fun)
        iterations = int(res.nit)
    scaled = np.rint(y * LP_DENOMINATOR).astype(np.int64)
    kinds, keys = matrix.row_kind, matrix.row_key

    def pick(kind: int, size: int) -> Int64Array:
        out = np.zeros(size, np.int64)
        sel = kinds == kind
        out[keys[sel]] = scaled[sel]
        return out

    g_sel = kinds == ROW_GROUP
    g_order = np.argsort(keys[g_sel], kind="stable")
    sp_sel = kinds == ROW_SPACING
    duals = DualCertificate(
        denominator=LP_DENOMINATOR,
        fill_weight=fill_weight,
        video=pick(ROW_VIDEO, p.num_videos),
        channel=pick(ROW_CHANNEL, p.num_channels),
        cday=pick(ROW_CDAY, p.num_cdays),
        slot=pick(ROW_SLOT, p.num_slots),
        group_key=keys[g_sel][g_order],
        group_value=scaled[g_sel][g_order],
        timed_video=p.timed_videos.copy(),
        spacing_video=matrix.spacing_video.astype(np.int32),
        spacing_start=matrix.spacing_start,
        spacing_value=scaled[sp_sel],
        window=pick(ROW_WINDOW, p.model_windows.count) if p.has_limits else _NONE,
        part=pick(ROW_PART, p.num_parts),
        video_platform=pick(ROW_VP, len(p.vp_video)) if p.has_limits else _NONE,
    )
    # Candidate "<= 1" duals: the candidate row, or the column's upper bound.
    cand_dual = np.zeros(len(matrix.cand), np.int64)
    c_sel = kinds == ROW_CANDIDATE
    cand_dual[keys[c_sel]] = scaled[c_sel]
    np.maximum.at(cand_dual, matrix.col_cand, np.rint(ub * LP_DENOMINATOR).astype(np.int64))
    return LpResult(
        value=value,
        duals=duals,
        candidate_dual=cand_dual,
        seconds=time.perf_counter() - t0,
        iterations=iterations,
    )


def column_reduced_costs(
    problem: AllocationProblem, matrix: ModelMatrix, duals: DualCertificate
) -> Int64Array:
    """denominator * weight - (row duals the column meets, except its candidate row)."""
    p = problem
    cand = matrix.cand[matrix.col_cand]
    vid = p.cand_video[cand].astype(np.int64)
    ch = p.cand_channel[cand].astype(np.int64)
    price = duals.video[vid] + duals.channel[ch]
    price = price + group_price(p, duals, vid, ch)
    price = price + vp_dual(p, duals, cand)
    day = matrix.col_kind == DAY
    slot = matrix.col_kind == SLOT
    part = matrix.col_kind == PART
    extra = slot_extra(p, duals)  # part and window duals of each slot (0 without them)
    # A day column stands for "some slot of that day": priced at its cheapest slot, as the
    # certificate prices every windowed entry, so that fixing and certificate agree.
    if np.any(day) and p.num_slots:
        slot_price = duals.cday[p.slot_cday] + duals.slot + extra
        day_min = np.minimum.reduceat(slot_price, p.cday_slot_ptr[:-1])
        price[day] += day_min[matrix.col_where[day]]
    s = matrix.col_where[slot]
    price[slot] += duals.cday[p.slot_cday[s]] + duals.slot[s] + extra[s]
    if np.any(part):
        # A part column may take any slot of its part: the part's cheapest extra.
        part_min = np.full(p.num_parts, np.iinfo(np.int64).max, np.int64)
        parted = p.slot_part >= 0
        np.minimum.at(part_min, p.slot_part[parted], extra[parted])
        price[part] += part_min[matrix.col_where[part]]
    timed = slot & duals.timed_video[vid]
    if np.any(timed):
        price[timed] += spacing_cover(p, duals, vid[timed], p.slot_time[matrix.col_where[timed]])
    weight = matrix.col_score + duals.fill_weight
    return weight * duals.denominator - price


def useful_columns(
    problem: AllocationProblem,
    matrix: ModelMatrix,
    duals: DualCertificate,
    scaled_gap: int,
) -> BoolArray:
    """Columns that can appear in a plan at least as good as the incumbent.

    Reduced-cost fixing: for any plan x, denominator * value(x) <= total - sum_j slack_j x_j,
    where total is the certificate's scaled LP value and slack_j = t_e - rc_j >= 0 (t_e the
    best reduced cost among the columns of j's candidate, at least 0). With
    scaled_gap = total - denominator * incumbent, a column whose slack exceeds the gap is 0 in
    every plan that matches the incumbent. At gap 0 only complementary-slack columns remain.
    """
    rc = column_reduced_costs(problem, matrix, duals)
    best = np.zeros(len(matrix.cand), np.int64)
    np.maximum.at(best, matrix.col_cand, rc)
    slack = best[matrix.col_cand] - rc
    return slack <= scaled_gap


def sample_timed_pairs(
    problem: AllocationProblem, cand: Int64Array, per_candidate: int
) -> tuple[Int64Array, Int64Array]:
    """Up to `per_candidate` evenly spread slots of each timed candidate in `cand`."""
    p = problem
    cand = np.asarray(cand, np.int64)
    cand = cand[p.timed_videos[p.cand_video[cand]]]
    lo, hi = p.slot_range(cand)
    width = hi - lo
    j = np.arange(per_candidate)
    slot = lo[:, None] + (width[:, None] * (2 * j[None, :] + 1)) // (2 * per_candidate)
    owner = np.broadcast_to(cand[:, None], slot.shape)
    ok = np.broadcast_to(width[:, None] > 0, slot.shape)
    return owner[ok], slot[ok]


def timed_pair_violators(
    problem: AllocationProblem,
    matrix: ModelMatrix,
    lp: LpResult,
    per_candidate: int = 3,
    tolerance: int = 16,
) -> tuple[Int64Array, Int64Array]:
    """(candidate, slot) columns of timed candidates in the model with a positive reduced cost.

    The price includes the candidate's own "<= 1" dual from the LP, so these are exactly the
    columns that would improve the LP; at most `per_candidate` best ones per candidate, and
    never a column already present. `tolerance` (in 1/denominator units) ignores the noise of
    rounding the duals.
    """
    p = problem
    duals = lp.duals
    pos = np.flatnonzero(p.timed_videos[p.cand_video[matrix.cand]])
    if len(pos) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty
    lo, hi = p.slot_range(matrix.cand[pos])
    owner, slot = expand_ranges(lo, hi)
    at = pos[owner]
    cand = matrix.cand[at]
    vid = p.cand_video[cand].astype(np.int64)
    ch = p.cand_channel[cand].astype(np.int64)
    t = p.slot_time[slot]
    price = (
        duals.video[vid]
        + duals.channel[ch]
        + group_price(p, duals, vid, ch)
        + duals.cday[p.slot_cday[slot]]
        + duals.slot[slot]
        + spacing_cover(p, duals, vid, t)
        + lp.candidate_dual[at]
        + slot_extra(p, duals)[slot]
        + vp_dual(p, duals, cand)
    )
    value = p.cand_score[cand] * p.slot_factor[slot]
    rc = (value + duals.fill_weight) * duals.denominator - price
    present_key = (matrix.col_cand[matrix.col_kind == SLOT] << 32) | matrix.col_where[
        matrix.col_kind == SLOT
    ]
    key = (at << 32) | slot
    new = (rc > tolerance) & ~np.isin(key, present_key) & ~near_pin(p, vid, t)
    idx = np.flatnonzero(new)
    order = idx[np.lexsort((-rc[idx], at[idx]))]
    first = np.searchsorted(at[order], at[order])
    best = order[np.arange(len(order)) - first < per_candidate]
    return cand[best], slot[best]
