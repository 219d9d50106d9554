"""vdist's allocator: pure allocation, from domain values to a checked plan. No gRPC, no database.

The path through the package:

    domain values (`domain`)                    videos, channels, filters, schedules
      -> problem (`planning.build_instance`)    eligible candidates (`candidates`, `filters`,
                                                `scoring`), free slots (`calendar`), capacities,
                                                windows, pins: an `AllocationProblem`
      -> `solve`                                min-cost flow (`flow`) on pruned candidates
                                                certified by reduced costs (`pruning`), CP-SAT
                                                (`cpsat`) with the certified bound, or, when
                                                the flow is only a relaxation, LP and spaced
                                                flow certificates (`lp`, `spaced_flow`) and
                                                large-neighbourhood search (`lns`)
      -> `Plan`                                 placed in slots (`slotting`) and verified by
                                                the independent checker (`check_plan`)

`greedy` and the bare `solve_flow` are the baselines. The server (`server/`) loads the state,
calls `build_instance` and `solve`, and writes the plan; nothing here knows about it.

Importing the package imports the solver stack (numpy, scipy, OR-Tools). The names `solve` and
`greedy` below are the functions, and as package attributes they hide the submodules of the
same name: use `from allocator.solve import ...` / `from allocator.greedy import ...` (which
always reach the modules), never `allocator.solve.<name>`.
"""

from allocator.checker import check_plan
from allocator.digest import problem_digest
from allocator.domain import (
    Channel,
    ContentFilters,
    Orientation,
    PostingSchedule,
    Preferences,
    TimeWindow,
    Transformation,
    TransformationKind,
    Video,
    VideoState,
    WeeklySlot,
)
from allocator.flow import solve_flow
from allocator.greedy import greedy
from allocator.planning import Instance, LivePair, Scope, build_instance, skip_reason
from allocator.problem import (
    AllocationProblem,
    DualCertificate,
    Mode,
    Plan,
    ProblemError,
    SolverStatus,
)
from allocator.solve import solve

__all__ = [
    "AllocationProblem",
    "Channel",
    "ContentFilters",
    "DualCertificate",
    "Instance",
    "LivePair",
    "Mode",
    "Orientation",
    "Plan",
    "PostingSchedule",
    "Preferences",
    "ProblemError",
    "Scope",
    "SolverStatus",
    "TimeWindow",
    "Transformation",
    "TransformationKind",
    "Video",
    "VideoState",
    "WeeklySlot",
    "build_instance",
    "check_plan",
    "greedy",
    "problem_digest",
    "skip_reason",
    "solve",
    "solve_flow",
]
