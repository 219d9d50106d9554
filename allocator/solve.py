"""The pipeline: prune -> flow -> certificate -> CP-SAT with hint -> slotting -> checker.

Without min_hours_between the core is a min-cost flow, so:

1. `allocator.pruning` solves it exactly on a pruned candidate set and certifies, with the
   flow's integer duals, that the optimum holds over all candidates (bound == objective).
2. `allocator.slotting` places the chosen pairs in slots by its documented rule.
3. CP-SAT (`allocator.model`) confirms: it gets the surviving candidates minus the columns that
   reduced-cost fixing excludes (at gap 0, every column that is not complementary-slack with
   the certificate: at most the 20-25% of columns that can be part of an optimum), the flow
   optimum as a complete hint and the certified bound on its objective domain, and no presolve
   (which would be all the work left: 28 s on M against 0.14 s). A better solution, which
   cannot exist when the certificate holds, would replace the flow's.

When the flow is only a relaxation (same-source videos with different windows on one channel
whose chosen members do not fit their own windows, or min_hours_between for videos that can
be used twice), `_solve_relaxed` runs: feasible starts (greedy, the flow's choice placed in
score order, and the choices of the flow and of the *spaced* flow placed with spacing in
mind), the LP relaxation by column generation over candidates and, for timed candidates, over
their slot columns (HiGHS, priced with the same reduced costs) while less than 5% of
the time limit has gone, the best of three certificates (flow, LP, and the spaced flow: the
flow with each video's capacity cut to the uses min_hours_between leaves it, its duals moved
onto covering spacing rows, `spaced_flow_certificate`), then CP-SAT from the best start on the
columns that reduced-cost fixing keeps, for a short share of the time left, and, unless that
proved the restricted model optimal, a large-neighbourhood search (`_lns`: two channels at a
time re-solved by CP-SAT, everything else kept as pins) until the time limit. Timed
candidates keep the slot CP-SAT picked; the others are placed by slotting.

Every plan goes through `allocator.checker.check_plan` before it is returned. A status of
OPTIMAL means that the *certified* bound equals the objective, not only that CP-SAT said so on
the restricted model; CP-SAT's own status and bound are in `plan.stats`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from allocator.checker import check_plan
from allocator.flow import expand_ranges, fill_weight
from allocator.greedy import greedy, place_in_order, spread_repair
from allocator.model import (
    SLOT,
    ModelMatrix,
    build_matrix,
    hint_from_assignment,
    restrict,
    sample_timed_pairs,
    solve_cp,
    solve_lp,
    timed_pair_violators,
    useful_columns,
)
from allocator.problem import (
    AllocationProblem,
    BoolArray,
    DualCertificate,
    Int64Array,
    Mode,
    Plan,
    SolverStatus,
    relative_gap,
)
from allocator.pruning import PrunedFlow, prune_and_solve, reduced_costs, row_value
from allocator.slotting import SlottingError, assign_slots

# Share of the remaining time for SCHEDULE's first (fill) stage when CP-SAT must find the fill.
_FILL_STAGE_SHARE = 0.4
_MAX_LP_ROUNDS = 30
_SAMPLE_SLOTS = 2  # initial slot columns per timed candidate (LP time grows fast with more)
# Column generation stops when less than this share of the time limit is left (staggered: the
# LP certificate never beat the spaced flow's, and LNS makes better use of the time).
_LP_SHARE = 0.95
_CP_SHARE = 0.05  # of the time left after the LP, for CP-SAT on the whole model before LNS
_SPREAD_PHASES = tuple(i / 10 for i in range(10))


class _Clock:
    def __init__(self, limit: float) -> None:
        self.start = time.perf_counter()
        self.limit = limit

    def left(self) -> float:
        return self.limit - (time.perf_counter() - self.start)


def solve(problem: AllocationProblem, *, use_cpsat: bool = True, check: bool = True) -> Plan:
    """The best plan found within problem.time_limit_seconds, with its certified bound.

    use_cpsat=False stops after the flow (or the repaired flow choice with spacing).
    check=False skips the independent checker (tests and benchmarks time it separately).
    """
    clock = _Clock(problem.time_limit_seconds)
    stats: dict[str, Any] = {"candidates": problem.num_candidates}
    pruned = prune_and_solve(problem)
    stats.update(
        kept=len(pruned.kept),
        rounds=pruned.rounds,
        prune_s=pruned.seconds,
        flow_s=pruned.flow.seconds,
        potentials_s=pruned.flow.potentials_seconds,
        flow_exact=pruned.flow.exact,
        flow_objective=pruned.flow.objective,
    )
    plan = None
    if not problem.timed_videos.any():
        plan = _solve_flow_shaped(problem, pruned, clock, stats, use_cpsat)
    if plan is None:
        plan = _solve_relaxed(problem, pruned, clock, stats, use_cpsat)
    if check:
        t0 = time.perf_counter()
        check_plan(problem, plan)
        stats["check_s"] = time.perf_counter() - t0
    stats["total_s"] = time.perf_counter() - clock.start
    return plan


def _solve_flow_shaped(
    p: AllocationProblem,
    pruned: PrunedFlow,
    clock: _Clock,
    stats: dict[str, Any],
    use_cpsat: bool,
) -> Plan | None:
    """The flow optimum, confirmed by CP-SAT; None when the flow's choice does not fit."""
    flow = pruned.flow
    t0 = time.perf_counter()
    try:
        # Exact flow: always fits. Relaxed flow (mixed-window groups): its optimum is still
        # optimal whenever each chosen video fits its own window, which slotting decides.
        best = (flow.chosen, assign_slots(p, flow.chosen))
    except SlottingError:
        if flow.exact:
            raise
        stats["flow_fits"] = False
        return None
    stats["slotting_s"] = time.perf_counter() - t0
    if use_cpsat:
        matrix = build_matrix(p, pruned.kept)
        fill = flow.filled if p.mode is Mode.SCHEDULE else None
        found = _run_cp(p, matrix, best, fill, pruned.weighted_bound, flow.duals, clock, stats)
        if found is not None and _better(p, found, best):
            best = found
    return _plan(p, best, pruned.weighted_bound, flow.duals, stats)


def _solve_relaxed(
    p: AllocationProblem,
    pruned: PrunedFlow,
    clock: _Clock,
    stats: dict[str, Any],
    use_cpsat: bool,
) -> Plan:
    """When the flow is only a relaxation: repaired starts, certificates, CP-SAT and LNS."""
    flow = pruned.flow
    # Feasible starting points: the flow's choice repaired for spacing, and plain greedy.
    t0 = time.perf_counter()
    by_score = flow.chosen[np.argsort(-p.cand_score[flow.chosen], kind="stable")]
    start = greedy(p)
    others = [place_in_order(p, by_score)]
    # Spread repair from ten target phases: ~0.1 s each on the staggered instance, and the
    # phase moved its result by 0.8% there.
    phases = _SPREAD_PHASES if p.num_candidates <= 200_000 else _SPREAD_PHASES[5:6]
    others += [spread_repair(p, flow.chosen, phase) for phase in phases]
    # The flow with capacities cut to what spacing allows chooses pairs that fit better
    # (staggered: best start 39.97M against 39.87M from the plain flow's choice).
    spaced = spaced_flow_certificate(p)
    if spaced is not None:
        others += [spread_repair(p, spaced[3], phase) for phase in phases]
    for other in others:
        if _better(p, (other.candidate,), (start.candidate,)):
            start = other
    best: tuple[Int64Array, Int64Array] = (start.candidate, start.slot)
    stats["hint_s"] = time.perf_counter() - t0

    keep = np.zeros(p.num_candidates, bool)
    keep[pruned.kept] = True
    keep[best[0]] = True
    big_m = fill_weight(p)
    t0 = time.perf_counter()
    # Column generation: candidates (priced over every slot) and, for timed candidates, their
    # slot columns, starting from a spread sample plus the starting plan's slots.
    s_cand, s_slot = sample_timed_pairs(p, np.flatnonzero(keep), _SAMPLE_SLOTS)
    pair_cand = [s_cand, best[0]]
    pair_slot = [s_slot, best[1]]
    rounds = 0
    while True:
        rounds += 1
        pairs = (np.concatenate(pair_cand), np.concatenate(pair_slot))
        matrix = build_matrix(p, np.flatnonzero(keep), pairs)
        lp = solve_lp(p, matrix, big_m)
        dropped = np.flatnonzero(~keep)
        rc = reduced_costs(p, lp.duals, dropped)
        violators = dropped[rc > 0]
        new_cand, new_slot = timed_pair_violators(p, matrix, lp, per_candidate=1)
        if (len(violators) == 0 and len(new_cand) == 0) or rounds >= _MAX_LP_ROUNDS:
            break
        if clock.left() < _LP_SHARE * clock.limit:
            break
        keep[violators] = True
        v_cand, v_slot = sample_timed_pairs(p, violators, _SAMPLE_SLOTS)
        pair_cand += [new_cand, v_cand]
        pair_slot += [new_slot, v_slot]
    rc_all = reduced_costs(p, lp.duals, np.arange(p.num_candidates))
    lp_total = row_value(p, lp.duals) + int(np.maximum(rc_all, 0).sum())
    lp_bound = -((-lp_total) // lp.duals.denominator)
    stats.update(
        lp_rounds=rounds,
        lp_s=time.perf_counter() - t0,
        lp_value=lp.value,
        lp_bound=lp_bound,
        flow_bound=pruned.weighted_bound,
        kept=int(keep.sum()),
    )
    # The best of three certificates: the flow's, the LP's and the flow's with capacities cut
    # to what spacing allows (each a DualCertificate; the lowest bound wins).
    options = [
        (pruned.weighted_bound, flow.duals, pruned.weighted_bound),
        (lp_bound, lp.duals, lp_total),
    ]
    if spaced is not None and big_m == 0:  # SCHEDULE: its fill weight differs from big_m
        s_total, s_cert, s_seconds, _ = spaced
        options.append((-((-s_total) // s_cert.denominator), s_cert, s_total))
        stats.update(spaced_bound=options[-1][0], spaced_s=s_seconds)
    bound, cert, total = min(options, key=lambda o: o[0])
    if use_cpsat:
        found = _run_cp(
            p, matrix, best, None, total, cert, clock, stats, seconds=_CP_SHARE * clock.left()
        )
        if found is not None and _better(p, found, best):
            best = found
        proven = int(p.cand_score[best[0]].sum()) >= bound
        if not proven and stats.get("cp_status") != "OPTIMAL":
            best = _lns(p, best, clock, stats)
    return _plan(p, best, bound, cert, stats)


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


def _run_cp(
    p: AllocationProblem,
    matrix: ModelMatrix,
    start: tuple[Int64Array, Int64Array] | None,
    fill: int | None,
    weighted_bound: int,
    cert: DualCertificate,
    clock: _Clock,
    stats: dict[str, Any],
    seconds: float | None = None,
) -> tuple[Int64Array, Int64Array] | None:
    """CP-SAT on the model; returns the (candidates, slots) of its best solution.

    `seconds` caps its time (by default: all the time left).

    `weighted_bound` is the certificate's value (scaled by its denominator). With a starting
    plan, columns that reduced-cost fixing proves useless for matching it are left out.
    """
    big_m = cert.fill_weight
    den = cert.denominator
    hint = None
    gap = None
    stats["cp_columns_before_fixing"] = matrix.num_columns
    if start is not None:
        start_w = int(p.cand_score[start[0]].sum()) + big_m * len(start[0])
        gap = weighted_bound - den * start_w
        matrix = restrict(matrix, useful_columns(p, matrix, cert, gap))
        hint = hint_from_assignment(p, matrix, start[0], start[1])
    confirm = gap is not None and gap < den  # the start already meets the certified bound
    stats["cp_columns"] = matrix.num_columns
    weighted_bound = -((-weighted_bound) // den)
    if p.mode is Mode.SCHEDULE and fill is None:
        stage = solve_cp(
            matrix, hint, _FILL_STAGE_SHARE * clock.left(), p.num_workers, maximize_fill=True
        )
        stats.update(cp_fill_status=stage.status, cp_fill_s=stage.seconds)
        if stage.columns is None:
            return None
        hint, fill = stage.columns, int(stage.columns.sum())
    score_bound = weighted_bound - big_m * fill if fill is not None else weighted_bound
    res = solve_cp(
        matrix,
        hint,
        clock.left() if seconds is None else min(seconds, clock.left()),
        p.num_workers,
        fill=fill,
        score_bound=score_bound,
        presolve=not confirm,
    )
    stats.update(
        cp_status=res.status,
        cp_objective=res.objective,
        cp_bound=res.cp_bound,
        cp_s=res.seconds,
        cp_build_s=res.build_seconds,
    )
    if res.columns is None:
        return None
    return _decode(p, matrix, res.columns)


def _decode(
    p: AllocationProblem, matrix: ModelMatrix, columns: np.ndarray
) -> tuple[Int64Array, Int64Array]:
    """Chosen candidates and slots: timed slot columns keep their slot, the rest are placed."""
    on = np.flatnonzero(columns)
    cand = matrix.cand[matrix.col_cand[on]]
    timed = p.timed_videos[p.cand_video[cand]] & (matrix.col_kind[on] == SLOT)
    slots = np.full(len(cand), -1, np.int64)
    slots[timed] = matrix.col_where[on][timed]
    rest = np.flatnonzero(~timed)
    slots[rest] = assign_slots(p, cand[rest], taken=slots[timed])
    return cand, slots


def _better(p: AllocationProblem, a: tuple[Int64Array, ...], b: tuple[Int64Array, ...]) -> bool:
    """Whether plan a beats plan b: (fill, score) in SCHEDULE, score in FILTER."""
    sa, sb = int(p.cand_score[a[0]].sum()), int(p.cand_score[b[0]].sum())
    if p.mode is Mode.SCHEDULE:
        return (len(a[0]), sa) > (len(b[0]), sb)
    return sa > sb


def _plan(
    p: AllocationProblem,
    best: tuple[Int64Array, Int64Array],
    weighted_bound: int,
    cert: DualCertificate,
    stats: dict[str, Any],
) -> Plan:
    cand, slots = best
    order = np.argsort(cand, kind="stable")
    cand, slots = cand[order], slots[order]
    objective = int(p.cand_score[cand].sum())
    filled = len(cand)
    big_m = cert.fill_weight
    if p.mode is Mode.SCHEDULE:
        smax = int(np.abs(p.cand_score).max()) if p.num_candidates else 0
        fill_bound = weighted_bound // (big_m - smax) if big_m > smax else 0
        score_bound = weighted_bound - big_m * filled
        proven = fill_bound == filled and score_bound == objective
    else:
        fill_bound = min(int(p.video_capacity.sum()), p.num_slots)
        score_bound = weighted_bound
        proven = score_bound == objective
    return Plan(
        candidate=cand,
        video=p.cand_video[cand],
        channel=p.cand_channel[cand],
        slot=slots,
        score=p.cand_score[cand],
        status=SolverStatus.OPTIMAL if proven else SolverStatus.FEASIBLE,
        objective=objective,
        filled=filled,
        best_bound=score_bound,
        fill_bound=fill_bound,
        gap=relative_gap(objective, score_bound),
        certificate=cert,
        stats=stats,
    )
