"""CP-SAT on the model (`allocator.model_matrix`): the solver call, its parameters, and one run.

`solve_cp` builds the CP-SAT model from the matrix and solves it; `_run_cp` is the pipeline's
run: reduced-cost fixing against a starting plan (`allocator.lp.useful_columns`), the complete
hint, SCHEDULE's fill stage when the fill is unknown, and the decoding of the columns back to
(candidates, slots). `_Clock` is the pipeline's time budget and `_better` its comparison of plans.

FILTER maximises the score. SCHEDULE is lexicographic in two solves: the fill is fixed by a row
sum(columns) == F (F from the exact flow, or from a first CP-SAT solve that maximises the
fill), then the score is maximised. A certified upper bound on the score, when known, is added
as a row: it prunes nothing feasible and lets CP-SAT stop as soon as the hint reaches it.

Two sets of parameters (`cp_parameters`):

* `deterministic` for every run whose answer can become the plan: one worker at
  linearization level 2 (the LP with all cuts of `max_lp`, which proves these
  transportation-like models), a fixed `random_seed`, and a budget in CP-SAT's *deterministic
  time* (`max_deterministic_time`, a weighted count of its operations), with the wall clock
  only as a cap (`max_time_in_seconds`). A single worker searches sequentially, so the run is
  a function of the model and the parameters; the parallel portfolio is not (2 workers gave
  different optima of the same model from run to run), and `interleave_search`, CP-SAT's
  deterministic parallel mode, did fewer and worse neighbourhoods in the same time here.
  Measured on the LNS models of a 1.5k x 40 staggered instance for 30 s: 1 worker at level 2
  48 neighbourhoods (30 proven) against 30 (6 proven) for the 2-worker portfolio, and a better
  plan.
* the 2-worker portfolio (`num_workers` from the problem, subsolvers `max_lp` and
  `default_lp`, wall-clock limit) for the confirmation run of a certified flow optimum, whose
  answer is never taken (nothing can beat the certificate, and an equally good plan does not
  replace the flow's): M's confirmation model takes 0.14 s with it (docs/performance.md).

`_Clock` turns the time limit into deterministic budgets; see its docstring for what is and
is not guaranteed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from allocator.lp import useful_columns
from allocator.model_matrix import DAY, PART, SLOT, ModelMatrix, hint_from_assignment, restrict
from allocator.problem import (
    AllocationProblem,
    BoolArray,
    DualCertificate,
    Int64Array,
    Mode,
    SolverStatus,
)
from allocator.slotting import assign_slots
from allocator.weights import total_value

# Share of a run's budget for SCHEDULE's first (fill) stage when CP-SAT must find the fill.
_FILL_STAGE_SHARE = 0.4
# CP-SAT deterministic time per work unit (~ a second of the reference machine, unloaded):
# one worker at linearization level 2 on the LNS and spacing models of the staggered
# instances did 0.4-0.6 deterministic units per wall second, model building included.
DTIME_PER_UNIT = 0.5
_SEED = 1  # CP-SAT's random_seed in deterministic runs


class _Clock:
    """The time limit as deterministic budgets, with the wall clock as a cap.

    Every decision that can change the plan (how long column generation goes on, how long
    CP-SAT searches, how many neighbourhoods LNS tries) is taken on `work`: deterministic
    *work units*, about seconds of the reference 2-core machine when it is not loaded, that
    each phase charges for what it did (CP-SAT's deterministic time / `DTIME_PER_UNIT`, and
    size-based estimates for the LP and for building models). Budgets are shares of the time
    limit in these units, so the same problem with the same time limit takes the same
    decisions on any machine speed.

    The wall clock (`left()`) only caps. A phase that stops because of it sets `cut`, and no
    later phase may change the plan: the plan is then one that the uncut run also passed
    through on its way (the incumbent only changes for a strictly better one), so an optimal
    plan is the same either way, and only a cut run's FEASIBLE plan (or its bound) may differ.
    """

    def __init__(self, limit: float) -> None:
        self.start = time.perf_counter()
        self.limit = limit
        self.work = 0.0
        self.cut = False

    def left(self) -> float:
        """Wall-clock seconds left (a cap, never a decision)."""
        return self.limit - (time.perf_counter() - self.start)

    def budget(self, share: float) -> float:
        """Work units left until `share` of the time limit is spent."""
        return share * self.limit - self.work

    def charge(self, units: float) -> None:
        """Count deterministic work."""
        self.work += units


@dataclass(frozen=True, eq=False)
class CpResult:
    """What CP-SAT returned on the model."""

    status: str
    columns: BoolArray | None  # chosen columns of the best solution, None when none found
    objective: int | None
    cp_bound: int | None  # CP-SAT's own bound on the restricted model (not certified)
    seconds: float
    build_seconds: float
    dtime: float = 0.0  # CP-SAT's deterministic time
    cut: bool = False  # a deterministic run stopped by the wall clock before its budget


def cp_parameters(
    time_limit: float, num_workers: int, variant: str = "max_lp", dtime: float | None = None
) -> cp_model.CpSolver:
    """A CpSolver configured for a small machine (see module docstring).

    `time_limit` is wall seconds. `dtime` (deterministic time) selects the `deterministic`
    parameters, whatever `variant` says: one worker, level 2, fixed seed, that budget.
    """
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.01, time_limit)
    params.num_workers = num_workers
    if dtime is not None:
        params.num_workers = 1
        params.linearization_level = 2
        params.random_seed = _SEED
        params.max_deterministic_time = max(0.0, dtime)
    elif variant == "max_lp" and num_workers >= 2:
        params.subsolvers.extend(["max_lp", "default_lp"])
    elif variant == "lin2":
        params.num_workers = 1
        params.linearization_level = 2
    return solver


def solve_cp(
    matrix: ModelMatrix,
    hint: BoolArray | None,
    time_limit: float,
    num_workers: int,
    fill: int | None = None,
    score_bound: int | None = None,
    maximize_fill: bool = False,
    variant: str = "max_lp",
    presolve: bool = True,
    dtime: float | None = None,
    fill_weight: int = 0,
) -> CpResult:
    """Solve the model with CP-SAT from a complete hint, within `time_limit` seconds.

    maximize_fill: maximise the number of columns set (SCHEDULE stage 1) instead of the score.
    fill: fix the number of columns set (SCHEDULE stage 2). score_bound: a certified bound.
    presolve=False skips CP-SAT's presolve: when the hint already reaches the bound, presolve
    is all the work left (28 s on M's confirmation model, against 0.14 s without it).
    dtime: a deterministic run (see `cp_parameters`) with this budget; `time_limit` is then
    only its wall-clock cap, and `cut` says whether the cap stopped it first.
    fill_weight: maximise sum(fill_weight + score) instead (SCHEDULE in one solve, as the flow
    does; `allocator.flow.fill_weight` of the model's problem makes it lexicographic).
    """
    t0 = time.perf_counter()
    model = cp_model.CpModel()
    proto = model.proto
    n = matrix.num_columns
    for _ in range(n):
        proto.variables.add().domain.extend([0, 1])
    csr = matrix.rows
    indptr, indices = csr.indptr, csr.indices
    for r in range(csr.shape[0]):
        members = indices[indptr[r] : indptr[r + 1]].tolist()
        rhs = int(matrix.row_rhs[r])
        ct = proto.constraints.add()
        if rhs == 1:
            ct.at_most_one.literals.extend(members)
        else:
            ct.linear.vars.extend(members)
            ct.linear.coeffs.extend([1] * len(members))
            ct.linear.domain.extend([0, rhs])
    everything = list(range(n))
    if fill is not None:
        ct = proto.constraints.add()
        ct.linear.vars.extend(everything)
        ct.linear.coeffs.extend([1] * n)
        ct.linear.domain.extend([fill, fill])
    score = (matrix.col_score + fill_weight).tolist()
    # CP-SAT minimises: negate to maximise.
    proto.objective.vars.extend(everything)
    proto.objective.coeffs.extend([-1] * n if maximize_fill else [-s for s in score])
    if score_bound is not None and not maximize_fill:
        # On the objective's own domain, not as a separate row: CP-SAT then starts from this
        # bound and stops as soon as a solution reaches it (as a row it took 6 s on M).
        proto.objective.domain.extend([-score_bound, 1 << 50])
    if hint is not None:
        proto.solution_hint.vars.extend(everything)
        proto.solution_hint.values.extend(hint.astype(np.int64).tolist())
    build = time.perf_counter() - t0
    solver = cp_parameters(time_limit - build, num_workers, variant, dtime)
    solver.parameters.cp_model_presolve = presolve
    status = solver.solve(model)
    name = solver.status_name(status)
    spent = float(solver.response_proto.deterministic_time)
    # A deterministic run that neither finished its search nor used its budget was stopped by
    # the wall clock (when the budget runs out, CP-SAT reports at least the budget).
    cut = (
        dtime is not None
        and status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
        and spent < dtime
    )
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.array(solver.response_proto.solution, np.int64) > 0
        objective = round(-solver.objective_value)
        bound = int(np.floor(-solver.best_objective_bound + 1e-6))
    else:
        values, objective, bound = None, None, None
    return CpResult(
        status=name,
        columns=values,
        objective=objective,
        cp_bound=bound,
        seconds=time.perf_counter() - t0,
        build_seconds=build,
        dtime=spent,
        cut=cut,
    )


def status_of(name: str) -> SolverStatus:
    """SolverStatus for a CP-SAT status name."""
    return {
        "OPTIMAL": SolverStatus.OPTIMAL,
        "FEASIBLE": SolverStatus.FEASIBLE,
        "INFEASIBLE": SolverStatus.INFEASIBLE,
    }.get(name, SolverStatus.UNKNOWN)


def _run_cp(
    p: AllocationProblem,
    matrix: ModelMatrix,
    start: tuple[Int64Array, Int64Array] | None,
    fill: int | None,
    weighted_bound: int,
    cert: DualCertificate,
    clock: _Clock,
    stats: dict[str, Any],
    units: float | None = None,
) -> tuple[Int64Array, Int64Array] | None:
    """CP-SAT on the model; returns the (candidates, slots) of its best solution.

    `units`: a deterministic run (see `cp_parameters`) with this many work units, charged to
    the clock, and the wall time left as its cap; SCHEDULE's fill stage, when the fill is not
    given, takes `_FILL_STAGE_SHARE` of them. None: the confirmation run, with the 2-worker
    portfolio and all the wall time left, for a plan that it cannot change.

    `weighted_bound` is the certificate's value (scaled by its denominator). With a starting
    plan, columns that reduced-cost fixing proves useless for matching it are left out.
    """
    big_m = cert.fill_weight
    den = cert.denominator
    hint = None
    gap = None
    stats["cp_columns_before_fixing"] = matrix.num_columns
    if start is not None:
        start_w = total_value(p, start[0], start[1]) + big_m * len(start[0])
        gap = weighted_bound - den * start_w
        matrix = restrict(matrix, useful_columns(p, matrix, cert, gap))
        hint = hint_from_assignment(p, matrix, start[0], start[1])
    confirm = gap is not None and gap < den  # the start already meets the certified bound
    stats["cp_columns"] = matrix.num_columns
    weighted_bound = -((-weighted_bound) // den)
    dtime = None if units is None else max(0.0, units) * DTIME_PER_UNIT
    if p.mode is Mode.SCHEDULE and fill is None:
        stage = solve_cp(
            matrix,
            hint,
            _FILL_STAGE_SHARE * clock.left() if dtime is None else clock.left(),
            p.num_workers,
            maximize_fill=True,
            dtime=None if dtime is None else _FILL_STAGE_SHARE * dtime,
        )
        _spent(clock, stage, dtime is not None)
        stats.update(cp_fill_status=stage.status, cp_fill_s=stage.seconds)
        if stage.columns is None or stage.cut:
            return None
        hint, fill = stage.columns, int(stage.columns.sum())
        if dtime is not None:
            dtime = max(0.0, dtime - stage.dtime)
    score_bound = weighted_bound - big_m * fill if fill is not None else weighted_bound
    res = solve_cp(
        matrix,
        hint,
        clock.left(),
        p.num_workers,
        fill=fill,
        score_bound=score_bound,
        presolve=not confirm,
        dtime=dtime,
    )
    _spent(clock, res, dtime is not None)
    stats.update(
        cp_status=res.status,
        cp_objective=res.objective,
        cp_bound=res.cp_bound,
        cp_s=res.seconds,
        cp_build_s=res.build_seconds,
        cp_dtime=res.dtime,
    )
    if res.columns is None:
        return None
    return _decode(p, matrix, res.columns)


def _spent(clock: _Clock, res: CpResult, deterministic: bool) -> None:
    """Charge a deterministic run's deterministic time to the clock; note a wall-clock cut."""
    if deterministic:
        clock.charge(res.dtime / DTIME_PER_UNIT)
        clock.cut |= res.cut


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
    part = np.full(len(on), -1, np.int64)
    if p.num_parts:
        kind, where = matrix.col_kind[on], matrix.col_where[on]
        part = np.where(kind == PART, where, part)
        part = np.where(
            kind == DAY, p.slot_part[p.cday_slot_ptr[np.where(kind == DAY, where, 0)]], part
        )
        part = np.where(kind == SLOT, p.slot_part[np.where(kind == SLOT, where, 0)], part)
    slots[rest] = assign_slots(p, cand[rest], taken=slots[timed], part=part[rest])
    return cand, slots


def _better(p: AllocationProblem, a: tuple[Int64Array, ...], b: tuple[Int64Array, ...]) -> bool:
    """Whether plan a beats plan b: (fill, score) in SCHEDULE, score in FILTER."""
    sa, sb = total_value(p, a[0], a[1]), total_value(p, b[0], b[1])
    if p.mode is Mode.SCHEDULE:
        return (len(a[0]), sa) > (len(b[0]), sb)
    return sa > sb


def _weighted(p: AllocationProblem, best: tuple[Int64Array, ...], big_m: int) -> int:
    """sum(fill weight + score) of a plan: what the certificates bound."""
    return total_value(p, best[0], best[1]) + big_m * len(best[0])
