"""The pipeline: prune -> flow -> certificate -> CP-SAT with hint -> slotting -> checker.

Without min_hours_between the core is a min-cost flow, so:

1. `allocator.pruning` solves it exactly on a pruned candidate set and certifies, with the
   flow's integer duals, that the optimum holds over all candidates (bound == objective).
2. `allocator.slotting` places the chosen pairs in slots by its documented rule.
3. CP-SAT (`allocator.cpsat`) confirms: it gets the surviving candidates minus the columns that
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
onto covering spacing rows, `allocator.spaced_flow`), then CP-SAT (`allocator.cpsat`) from
the best start on the columns that reduced-cost fixing keeps, for a short share of the time
left, and, unless that proved the restricted model optimal, a large-neighbourhood search
(`allocator.lns`: two channels at a time re-solved by CP-SAT, everything else kept as pins)
until the time limit. Timed candidates keep the slot CP-SAT picked; the others are placed by
slotting.

Every plan goes through `allocator.checker.check_plan` before it is returned. A status of
OPTIMAL means that the *certified* bound equals the objective, not only that CP-SAT said so on
the restricted model; CP-SAT's own status and bound are in `plan.stats`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocator.checker import check_plan
from allocator.cpsat import _better, _Clock, _run_cp
from allocator.flow import fill_weight
from allocator.greedy import greedy, place_in_order, spread_repair
from allocator.lns import _lns
from allocator.lp import sample_timed_pairs, solve_lp, timed_pair_violators
from allocator.model_matrix import build_matrix
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
from allocator.spaced_flow import spaced_flow_certificate

_MAX_LP_ROUNDS = 30
_SAMPLE_SLOTS = 2  # initial slot columns per timed candidate (LP time grows fast with more)
# Column generation stops when less than this share of the time limit is left (staggered: the
# LP certificate never beat the spaced flow's, and LNS makes better use of the time).
_LP_SHARE = 0.95
_CP_SHARE = 0.05  # of the time left after the LP, for CP-SAT on the whole model before LNS
_SPREAD_PHASES = tuple(i / 10 for i in range(10))


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
