"""The pipeline: prune -> flow -> certificate -> CP-SAT with hint -> slotting -> checker.

Without min_hours_between the core is a min-cost flow, so:

1. `allocator.pruning` solves it exactly on a pruned candidate set and certifies, with the
   flow's integer duals, that the optimum holds over all candidates (bound == objective).
2. `allocator.slotting` places the chosen pairs in slots by its documented rule.
3. CP-SAT (`allocator.cpsat`) confirms: it gets the surviving candidates minus the columns that
   reduced-cost fixing excludes (at gap 0, every column that is not complementary-slack with
   the certificate: at most the 20-25% of columns that can be part of an optimum), the flow
   optimum as a complete hint and the certified bound on its objective domain, and no presolve
   (which would be all the work left: 28 s on M against 0.14 s). Its answer is not taken:
   nothing beats a certified optimum, and an equally good other plan does not replace the
   flow's. (Only when the certificate does not close, CP-SAT runs deterministically and a
   strictly better plan would replace the flow's.)

When the flow is only a relaxation (same-source videos with different windows on one channel
whose chosen members do not fit their own windows, or min_hours_between for videos that can
be used twice), `_solve_relaxed` runs: feasible starts (greedy, the flow's choice placed in
score order, and the choices of the flow and of the *spaced* flow placed with spacing in
mind), the LP relaxation by column generation over candidates and, for timed candidates, over
their slot columns (HiGHS, priced with the same reduced costs) until its rounds have cost 2%
of the time limit, the best of three certificates (flow, LP, and the spaced flow: the
flow with each video's capacity cut to the uses min_hours_between leaves it, its duals moved
onto covering spacing rows, `allocator.spaced_flow`), then CP-SAT (`allocator.cpsat`) from
the best start on the columns that reduced-cost fixing keeps, for 5% of the time limit, and,
unless that proved the restricted model optimal or the plan meets the bound, a
large-neighbourhood search (`allocator.lns`: two channels at a time re-solved by CP-SAT,
everything else kept as pins) until 80% of the time limit, a fixed point or the bound. Timed
candidates keep the slot CP-SAT picked; the others are placed by slotting.

Determinism. The plan is a function of the problem and its time limit (not of `num_workers`,
the machine's speed, the process or the hash seed): every ordering has an index tie-break,
the flow (`SimpleMinCostFlow`) and HiGHS are deterministic, every CP-SAT run whose answer can
become the plan is a single-worker run with a fixed seed and a budget in deterministic time,
and LNS visits its neighbourhoods in a fixed order. "Time" above is the deterministic work of
`allocator.cpsat._Clock` (about seconds of the 2-core reference machine, unloaded); the wall
clock only caps it, and `plan.stats["wall_clock_cut"]` says whether it did. Among plans of
equal value the first one found wins: the starts in the order above, then CP-SAT's and LNS's
answers only when strictly better.

Every plan goes through `allocator.checker.check_plan` before it is returned. A status of
OPTIMAL means that the *certified* bound equals the objective, not only that CP-SAT said so on
the restricted model; CP-SAT's own status and bound are in `plan.stats`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocator.checker import check_plan
from allocator.cpsat import _better, _Clock, _run_cp, _weighted
from allocator.flow import FlowResult, fill_weight, solve_flow
from allocator.greedy import fit_limits, greedy, place_in_order, spread_repair
from allocator.limits import windows_exact
from allocator.lns import _LNS_SHARE, _lns
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
from allocator.rolling import restrict
from allocator.slotting import SlottingError, assign_slots
from allocator.spaced_flow import spaced_flow_certificate
from allocator.weights import max_abs_value, total_value
from allocator.work_units import lp_units as lp_round_units
from allocator.work_units import start_units

_MAX_LP_ROUNDS = 30
_SAMPLE_SLOTS = 2  # initial slot columns per timed candidate (LP time grows fast with more)
# Column generation stops once its LP rounds have cost this share of the time limit in work
# units (staggered: the LP certificate never beat the spaced flow's, and LNS makes better use
# of the time), or, as a wall-clock cap, once this share of the limit has gone.
_LP_SHARE = 0.02
_LP_WALL_SHARE = 0.5
_CP_SHARE = 0.05  # of the time limit, for CP-SAT on the whole model before LNS
_CP_CONFIRM_SHARE = 0.9  # of the time limit, for CP-SAT on an uncertified flow optimum
_SPREAD_PHASES = tuple(i / 10 for i in range(10))
# With overlapping quota windows greedy is one more start up to this size (0.4 s at M).
_GREEDY_START_CANDIDATES = 2_000_000
# Above this many candidates the relaxed path's LP and CP-SAT cost more than they can win.
_RELAXED_CANDIDATES = 200_000
_CLOSE_ENOUGH = 0.999  # of the bound (M-Q's gap target): a plan this good needs no other start
# LNS's sub-problems have no quota window or platform cap rows.
_NO_LIMIT_ROWS = "quota windows or platform caps"


def solve(problem: AllocationProblem, *, use_cpsat: bool = True, check: bool = True) -> Plan:
    """The best plan found within problem.time_limit_seconds, with its certified bound.

    use_cpsat=False stops after the flow (or the repaired flow choice with spacing).
    check=False skips the independent checker (tests and benchmarks time it separately).

    The same problem (equal `allocator.digest.problem_digest`) and time limit give:

    * the same plan, status and bounds whenever the wall clock did not cut the solve
      (`plan.stats["wall_clock_cut"]` False), OPTIMAL or FEASIBLE alike: every decision is
      taken on deterministic budgets (see the module docstring);
    * the same plan whenever it is OPTIMAL, even after a cut: a certified flow optimum is
      always the flow's own plan, and otherwise a cut stops the search, so a cut run returns
      one of the plans the uncut search passed through, and an optimal one is never replaced.

    Only a FEASIBLE plan of a cut run (a loaded machine, with a limit its deterministic budget
    does not fit in) may differ, and an OPTIMAL run's bound equals its objective either way.
    """
    clock = _Clock(problem.time_limit_seconds)
    stats: dict[str, Any] = {"candidates": problem.num_candidates}
    # With overlapping quota windows the flow is a relaxation whatever its candidates: one
    # pruning round, its bound (still over every candidate) is the answer's.
    pruned = prune_and_solve(problem, max_rounds=1 if not windows_exact(problem) else 100)
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
    stats.update(work_units=clock.work, wall_clock_cut=clock.cut)
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
    if _shares_a_source(p, flow.chosen) and p.num_candidates <= _RELAXED_CANDIDATES:
        # Same-source videos on a leveled channel, whose group rows the flow leaves out: on a
        # small problem CP-SAT on the whole model (the relaxed path) finds the best plan.
        stats["flow_fits"] = False
        return None
    if not windows_exact(p) or _shares_a_source(p, flow.chosen):
        # Overlapping quota windows, or such pairs on a big problem: the flow is a relaxation,
        # its plan is made to fit, and its bound stands.
        return _solve_restricted(p, pruned, stats)
    t0 = time.perf_counter()
    try:
        # Exact flow: always fits. Relaxed flow (mixed-window groups): its optimum is still
        # optimal whenever each chosen video fits its own window, which slotting decides.
        best = (flow.chosen, assign_slots(p, flow.chosen, part=flow.chosen_part))
    except SlottingError:
        if flow.exact:
            raise
        stats["flow_fits"] = False
        return None
    stats["slotting_s"] = time.perf_counter() - t0
    # Certified (the usual case): no plan is better, and the flow's is the canonical optimum,
    # so CP-SAT only confirms and its answer is not taken (it could be an equally good other
    # plan). Otherwise CP-SAT runs deterministically and a strictly better answer replaces it.
    certified = pruned.weighted_bound <= flow.weighted
    stats["flow_certified"] = certified
    if use_cpsat:
        # Certified at gap 0, reduced-cost fixing keeps only columns with reduced cost 0, all
        # of tight candidates: the matrix need not hold the others (at 50k x 1,500 the kept
        # set gave 4.7M columns, of which 0.26M were left after fixing).
        matrix = build_matrix(p, pruned.tight if certified else pruned.kept)
        fill = flow.filled if p.mode is Mode.SCHEDULE else None
        units = None if certified else clock.budget(_CP_CONFIRM_SHARE)
        found = _run_cp(
            p, matrix, best, fill, pruned.weighted_bound, flow.duals, clock, stats, units=units
        )
        if not certified and found is not None and _better(p, found, best):
            best = found
    return _plan(p, best, pruned.weighted_bound, flow.duals, stats)


def _solve_restricted(p: AllocationProblem, pruned: PrunedFlow, stats: dict[str, Any]) -> Plan:
    """Overlapping quota windows: the best of the flow on the slots `rolling.restrict` keeps
    (a plan that keeps every window), the family's flow made to fit, and placer starts;
    the family's bound."""
    t0 = time.perf_counter()
    sub, kept = restrict(p)
    flows: list[tuple[AllocationProblem, FlowResult, Int64Array | None]] = [(p, pruned.flow, None)]
    if sub is not p:
        # The family's kept candidates, no duals: a plan; the bound stays the family's.
        flows.insert(0, (sub, solve_flow(sub, pruned.kept, with_duals=False), kept))
    options = []
    big_m = pruned.flow.duals.fill_weight
    close = False
    for q, flow, slot_of in flows:
        # A relaxation's choice (mixed-window groups, same-source pairs on a leveled channel)
        # may not fit: what does not is left out, the slots left are offered to every candidate.
        slots = assign_slots(q, flow.chosen, part=flow.chosen_part, lenient=True)
        fits = slots >= 0
        slots = slots[fits] if slot_of is None else slot_of[slots[fits]]
        refill = not np.all(fits) or _shares_a_source(p, flow.chosen)
        options.append(fit_limits(p, flow.chosen[fits], slots, refill=refill))
        close = _weighted(p, options[-1], big_m) >= _CLOSE_ENOUGH * pruned.weighted_bound
        if close:
            break  # so near the bound that the other options could hardly do better
    flow = pruned.flow
    if not close:
        # Far from the bound: the placer's starts may do better (they did on small cases).
        by_score = flow.chosen[np.argsort(-p.cand_score[flow.chosen], kind="stable")]
        placed = [place_in_order(p, by_score)]
        if p.num_candidates <= _GREEDY_START_CANDIDATES:
            placed.append(greedy(p))
        options += [(plan.candidate, plan.slot) for plan in placed]
    best = options[0]
    for other in options[1:]:
        if _better(p, other, best):
            best = other
    stats.update(
        restricted_s=time.perf_counter() - t0,
        restricted_slots=len(kept),
        restricted_objective=flows[0][1].objective,
    )
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
        if _better(p, (other.candidate, other.slot), (start.candidate, start.slot)):
            start = other
    best: tuple[Int64Array, Int64Array] = (start.candidate, start.slot)
    stats["hint_s"] = time.perf_counter() - t0
    repairs = len(phases) * (1 if spaced is None else 2)
    clock.charge(start_units(p, flow.chosen, repairs, spaced is not None))

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
    lp_units = 0.0
    while True:
        rounds += 1
        pairs = (np.concatenate(pair_cand), np.concatenate(pair_slot))
        matrix = build_matrix(p, np.flatnonzero(keep), pairs)
        lp = solve_lp(p, matrix, big_m)
        units = lp_round_units(matrix, lp)
        lp_units += units
        clock.charge(units)
        dropped = np.flatnonzero(~keep)
        rc = reduced_costs(p, lp.duals, dropped)
        violators = dropped[rc > 0]
        new_cand, new_slot = timed_pair_violators(p, matrix, lp, per_candidate=1)
        if (len(violators) == 0 and len(new_cand) == 0) or rounds >= _MAX_LP_ROUNDS:
            break
        if lp_units >= _LP_SHARE * clock.limit:
            break
        if clock.left() < (1 - _LP_WALL_SHARE) * clock.limit:
            clock.cut = True  # the wall cap, not the budget: nothing after may change the plan
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
    stats["lp_units"] = lp_units
    if use_cpsat and not clock.cut:
        units = max(0.0, min(_CP_SHARE * clock.limit, clock.budget(_LNS_SHARE)))
        found = _run_cp(p, matrix, best, None, total, cert, clock, stats, units=units)
        if found is not None and p.has_limits:
            found = fit_limits(p, *found)
        if found is not None and _better(p, found, best):
            best = found
        proven = _weighted(p, best, big_m) >= bound
        if p.has_limits:
            stats["lns_skipped"] = _NO_LIMIT_ROWS
        elif not proven and stats.get("cp_status") != "OPTIMAL" and not clock.cut:
            best = _lns(p, best, clock, stats, target=bound)
    return _plan(p, best, bound, cert, stats)


def _shares_a_source(p: AllocationProblem, chosen: Int64Array) -> bool:
    """Whether two chosen candidates of one channel share a source."""
    key = p.video_source[p.cand_video[chosen]].astype(np.int64) * max(p.num_channels, 1)
    key = np.sort(key + p.cand_channel[chosen])
    return bool(len(key) > 1 and np.any(key[1:] == key[:-1]))


def _plan(
    p: AllocationProblem,
    best: tuple[Int64Array, Int64Array],
    weighted_bound: int,
    cert: DualCertificate,
    stats: dict[str, Any],
) -> Plan:
    cand, slots = fit_limits(p, *best) if p.has_limits else best
    order = np.argsort(cand, kind="stable")
    cand, slots = cand[order], slots[order]
    objective = total_value(p, cand, slots)
    filled = len(cand)
    big_m = cert.fill_weight
    if p.mode is Mode.SCHEDULE:
        smax = max_abs_value(p)
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
