"""What the optimisation core returns: a plan, its solver status and its dual certificate.

Re-exported by `allocator.problem`, which defines the rows the certificate refers to.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class SolverStatus(enum.Enum):
    """OPTIMAL only when a certified bound equals the objective; FEASIBLE when a gap remains."""

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, eq=False)
class DualCertificate:
    """Non-negative duals of the rows listed in the module docstring, times `denominator`.

    For any such duals the LP value below is an upper bound on every plan's weighted objective
    sum(weight_e) with weight_e = fill_weight + score_e (fill_weight is 0 in FILTER mode):

        ( sum_rows rhs * dual + sum_candidates max(0, denominator * weight_e - price_e) )
        / denominator

    where price_e is the cheapest way candidate e can be entered in the LP: its video, group
    and channel duals, plus nothing when its window covers every free slot of the channel (and
    its video is not timed), else the cheapest slot s of its window at day(s) + slot(s) duals
    (plus the spacing duals covering s for `timed_video`s, whose slots near a pin are not
    allowed). `allocator.checker.certificate_bound` evaluates it in integers.
    """

    denominator: int
    fill_weight: int
    video: Int64Array
    channel: Int64Array
    cday: Int64Array
    slot: Int64Array
    group_key: Int64Array  # source_group * num_channels + channel, sorted
    group_value: Int64Array
    timed_video: BoolArray
    spacing_video: Int32Array = field(default_factory=lambda: np.zeros(0, np.int32))
    spacing_start: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    spacing_value: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    # Quota windows, parts and (video, platform) rows; empty means all zero.
    window: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    part: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    video_platform: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass(frozen=True, eq=False)
class Plan:
    """The chosen assignments and what is proven about them.

    Row i assigns `video[i]` to `channel[i]` at slot `slot[i]` (an index into the problem's
    slots) through candidate `candidate[i]`, worth `score[i]`.
    `objective` is the total score and `filled` the number of assignments. `best_bound` is a
    certified upper bound on the score (in SCHEDULE mode: on the score of any plan that fills
    `filled` slots, and `fill_bound` bounds the fill of any plan); `gap` is
    (best_bound - objective) / max(1, |best_bound|).
    """

    candidate: Int64Array
    video: Int32Array
    channel: Int32Array
    slot: Int64Array
    score: Int64Array
    status: SolverStatus
    objective: int
    filled: int
    best_bound: int
    fill_bound: int
    gap: float
    certificate: DualCertificate | None
    stats: dict[str, Any] = field(default_factory=dict)


def relative_gap(objective: int, bound: int) -> float:
    """(bound - objective) / max(1, |bound|), never negative."""
    return max(0.0, (bound - objective) / max(1, abs(bound)))
