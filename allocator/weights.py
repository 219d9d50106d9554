"""Slot weights in the model: a placement of candidate e in slot s is worth score[e] * factor[s].

`slot_weight[s]` is the slot's weight in hundredths (100 = 1.0, at most 10,000). When every
slot weighs 1.0 the factors are all 1 and nothing changes; otherwise every value is in
hundredths of a score point (`value_scale` 100) and a channel whose slots do not all weigh
the same is *leveled*: its slots are split into parts by weight as well as by quota window
(`allocator.limits`), so that each part has one value per candidate, and its candidates reach
its parts through one node per weight level (`allocator.flow`). A channel whose slots all
weigh the same keeps its plain root: its candidates are worth score * that weight anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from allocator.entries import expand_ranges

if TYPE_CHECKING:
    from allocator.problem import AllocationProblem, BoolArray, Int64Array, Plan

MAX_WEIGHT = 10_000  # hundredths: a weight of 100


def slot_factors(p: AllocationProblem) -> Int64Array:
    """Per slot, what a score is multiplied by: its weight in hundredths, or 1 if unweighted."""
    w = p.slot_weight
    if len(w) == 0 or np.all(w == 100):
        return np.ones(p.num_slots, np.int64)
    return w.astype(np.int64)


def channel_factors(p: AllocationProblem) -> tuple[Int64Array, BoolArray]:
    """(factor, leveled) per channel: the common factor of its slots (its largest when they
    differ, 1 without slots), and whether they differ."""
    f = p.slot_factor
    top = np.ones(p.num_channels, np.int64)
    low = np.ones(p.num_channels, np.int64)
    if p.num_slots:
        starts = p.channel_slot_ptr[:-1]
        has = p.channel_free > 0
        top[has] = np.maximum.reduceat(f, starts[has])
        low[has] = np.minimum.reduceat(f, starts[has])
    return top, top != low


def values(p: AllocationProblem, cand: Int64Array, slot: Int64Array) -> Int64Array:
    """What each candidate is worth in its slot: score * factor."""
    return p.cand_score[np.asarray(cand, np.int64)] * p.slot_factor[np.asarray(slot, np.int64)]


def total_value(p: AllocationProblem, cand: Int64Array, slot: Int64Array) -> int:
    """The plan value of assignments (cand, slot)."""
    return int(values(p, cand, slot).sum())


def level_key(p: AllocationProblem) -> Int64Array:
    """Per slot, its factor on a leveled channel, 0 elsewhere: part keys split by it."""
    leveled = p.channel_leveled[p.slot_channel]
    return np.where(leveled, p.slot_factor, 0)


def max_abs_score(p: AllocationProblem) -> int:
    """max |score| over candidates (0 without), without an |score| temporary."""
    if p.num_candidates == 0:
        return 0
    return max(int(p.cand_score.max()), -int(p.cand_score.min()))


def max_abs_value(p: AllocationProblem) -> int:
    """max |score * factor| over candidates and the factors of their channels."""
    if p.num_candidates == 0:
        return 0
    factor = p.channel_factor
    if int(factor.min()) == int(factor.max()):
        return max_abs_score(p) * int(factor.max())
    return int((np.abs(p.cand_score) * factor[p.cand_channel]).max())


@dataclass(frozen=True, eq=False)
class Levels:
    """The weight levels of the leveled channels: one per (channel, factor), sorted so.

    `parts` are the parts of leveled channels ordered by level, `of_part[q]` the level of
    part q (-1 off leveled channels), `ptr` each channel's range of levels.
    """

    channel: Int64Array
    factor: Int64Array
    ptr: Int64Array
    parts: Int64Array
    of_part: Int64Array

    @property
    def count(self) -> int:
        """Number of levels."""
        return len(self.channel)

    @staticmethod
    def of(p: AllocationProblem) -> Levels:
        """The levels of problem p."""
        parts = np.flatnonzero(p.channel_leveled[p.part_channel])
        key = p.part_channel[parts] * (MAX_WEIGHT + 1) + p.part_factor[parts]
        uniq, inverse = np.unique(key, return_inverse=True)
        of_part = np.full(p.num_parts, -1, np.int64)
        of_part[parts] = inverse
        channel, factor = np.divmod(uniq, MAX_WEIGHT + 1)
        ptr = np.searchsorted(channel, np.arange(p.num_channels + 1)).astype(np.int64)
        return Levels(channel, factor, ptr, parts[np.argsort(inverse, kind="stable")], of_part)

    def entries(self, channels: Int64Array) -> tuple[Int64Array, Int64Array]:
        """(owner, level) for every level of each owner's channel."""
        return expand_ranges(self.ptr[channels], self.ptr[channels + 1])

    def parts_in_counts(self, level_sorted: Int64Array, part_flow: Int64Array) -> Int64Array:
        """Parts for units sorted by level, as many per part as `part_flow` (in `parts` order)
        says: each level's units fill its parts in order."""
        del level_sorted  # the counts already follow the level order of the units
        return np.repeat(self.parts, part_flow)


def in_score_units(p: AllocationProblem, plan: Plan) -> Plan:
    """The plan with its objective and bound in whole score points (values in hundredths when
    slots are weighted, rounded down alike, so an OPTIMAL plan keeps bound == objective)."""
    scale = p.value_scale
    if scale == 1:
        return plan
    return replace(plan, objective=plan.objective // scale, best_bound=plan.best_bound // scale)
