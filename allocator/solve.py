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
score order, and the flow's choice placed with spacing in mind), the LP relaxation by column
generation over candidates and, for timed candidates, over their slot columns (HiGHS, priced
with the same reduced costs), the better of the LP and flow certificates, then CP-SAT from the
best start within what is left of the time limit, on the columns that reduced-cost fixing
keeps. Timed candidates keep the slot CP-SAT picked; the others are placed by slotting.

Every plan goes through `allocator.checker.check_plan` before it is returned. A status of
OPTIMAL means that the *certified* bound equals the objective, not only that CP-SAT said so on
the restricted model; CP-SAT's own status and bound are in `plan.stats`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocator.checker import check_plan
from allocator.flow import fill_weight
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
_LP_SHARE = 0.5  # column generation stops when less than this share of the time limit is left
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
    """When the flow is only a relaxation: repaired start, LP certificate, CP-SAT search."""
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
    if lp_bound <= pruned.weighted_bound:
        bound, cert, total = lp_bound, lp.duals, lp_total
    else:
        bound, cert, total = pruned.weighted_bound, flow.duals, pruned.weighted_bound
    if use_cpsat:
        found = _run_cp(p, matrix, best, None, total, cert, clock, stats)
        if found is not None and _better(p, found, best):
            best = found
    return _plan(p, best, bound, cert, stats)


def _run_cp(
    p: AllocationProblem,
    matrix: ModelMatrix,
    start: tuple[Int64Array, Int64Array] | None,
    fill: int | None,
    weighted_bound: int,
    cert: DualCertificate,
    clock: _Clock,
    stats: dict[str, Any],
) -> tuple[Int64Array, Int64Array] | None:
    """CP-SAT on the model; returns the (candidates, slots) of its best solution.

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
        clock.left(),
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
