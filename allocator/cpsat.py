"""CP-SAT on the model (`allocator.model_matrix`): the solver call, its parameters, and one run.

`solve_cp` builds the CP-SAT model from the matrix and solves it; `_run_cp` is the pipeline's
run: reduced-cost fixing against a starting plan (`allocator.lp.useful_columns`), the complete
hint, SCHEDULE's fill stage when the fill is unknown, and the decoding of the columns back to
(candidates, slots). `_Clock` is the pipeline's time budget and `_better` its comparison of plans.

FILTER maximises the score. SCHEDULE is lexicographic in two solves: the fill is fixed by a row
sum(columns) == F (F from the exact flow, or from a first CP-SAT solve that maximises the
fill), then the score is maximised. A certified upper bound on the score, when known, is added
as a row: it prunes nothing feasible and lets CP-SAT stop as soon as the hint reaches it.

Parameters for 2 cores: `num_workers` from the problem (2) with the subsolvers `max_lp`, whose
LP with all cuts proves these transportation-like models (DESIGN.md: 0.07-6 s where the default
2-worker portfolio stalled at 0.6%), and `default_lp`. Measured here (docs/performance.md): the
confirmation model of M takes 0.14 s with them and 0.12 s with 1 worker and
linearization_level=2; on the staggered instance the default portfolio, `max_lp` and 1 worker
at linearization level 2 all ended at the same plan within 60 s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from allocator.lp import useful_columns
from allocator.model_matrix import SLOT, ModelMatrix, hint_from_assignment, restrict
from allocator.problem import (
    AllocationProblem,
    BoolArray,
    DualCertificate,
    Int64Array,
    Mode,
    SolverStatus,
)
from allocator.slotting import assign_slots

# Share of the remaining time for SCHEDULE's first (fill) stage when CP-SAT must find the fill.
_FILL_STAGE_SHARE = 0.4


class _Clock:
    def __init__(self, limit: float) -> None:
        self.start = time.perf_counter()
        self.limit = limit

    def left(self) -> float:
        return self.limit - (time.perf_counter() - self.start)


@dataclass(frozen=True, eq=False)
class CpResult:
    """What CP-SAT returned on the model."""

    status: str
    columns: BoolArray | None  # chosen columns of the best solution, None when none found
    objective: int | None
    cp_bound: int | None  # CP-SAT's own bound on the restricted model (not certified)
    seconds: float
    build_seconds: float


def cp_parameters(
    time_limit: float, num_workers: int, variant: str = "max_lp"
) -> cp_model.CpSolver:
    """A CpSolver configured for a small machine (see module docstring)."""
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.01, time_limit)
    params.num_workers = num_workers
    if variant == "max_lp" and num_workers >= 2:
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
) -> CpResult:
    """Solve the model with CP-SAT from a complete hint, within `time_limit` seconds.

    maximize_fill: maximise the number of columns set (SCHEDULE stage 1) instead of the score.
    fill: fix the number of columns set (SCHEDULE stage 2). score_bound: a certified bound.
    presolve=False skips CP-SAT's presolve: when the hint already reaches the bound, presolve
    is all the work left (28 s on M's confirmation model, against 0.14 s without it).
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
    score = matrix.col_score.tolist()
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
    solver = cp_parameters(time_limit - build, num_workers, variant)
    solver.parameters.cp_model_presolve = presolve
    status = solver.solve(model)
    name = solver.status_name(status)
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
