"""Work units the relaxed path charges to its deterministic clock (`allocator.cpsat._Clock`)
for what is not CP-SAT: the starting plans and each LP round, from measured rates."""

from __future__ import annotations

from allocator.lp import LpResult
from allocator.model_matrix import ModelMatrix
from allocator.problem import AllocationProblem, Int64Array

# Work units of an LP round (HiGHS dual simplex through scipy, measured on spacing instances
# from 400 to 7,000 rows: 5 ms plus 17-25 ns per simplex iteration and row).
_LP_FIXED_UNITS = 0.005
_LP_ITERATION_ROWS_PER_UNIT = 50_000_000.0
# Work units of the starting plans (measured: 0.6 us per repair step from 2.4k to 8.6k
# candidates; the spaced flow 30-45 us per candidate).
_REPAIR_STEPS_PER_UNIT = 1_600_000.0
_SPACED_CANDIDATES_PER_UNIT = 28_000.0


def start_units(p: AllocationProblem, chosen: Int64Array, repairs: int, spaced: bool) -> float:
    """Work units charged for the starting plans.

    Each spread repair walks the window of every chosen pair and then offers the free slots
    to every candidate; the spaced flow is one more pruned flow.
    """
    lo, hi = p.slot_range(chosen)
    steps = repairs * (int((hi - lo).sum()) + p.num_candidates) + 2 * p.num_candidates
    return steps / _REPAIR_STEPS_PER_UNIT + (
        p.num_candidates / _SPACED_CANDIDATES_PER_UNIT if spaced else 0.0
    )


def lp_units(matrix: ModelMatrix, lp: LpResult) -> float:
    """Work units charged for one LP round: a fixed part and simplex iterations x rows."""
    return _LP_FIXED_UNITS + lp.iterations * matrix.rows.shape[0] / _LP_ITERATION_ROWS_PER_UNIT
