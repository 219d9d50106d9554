"""A candidate's slot window as entries into the network: whole channel-days and single slots.

Used by the flow (`allocator.flow`), the model matrix and the LP, which all enter a windowed
candidate through the days its window covers and the slots of the days it only cuts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from allocator.problem import AllocationProblem, Int64Array


def expand_ranges(starts: Int64Array, ends: Int64Array) -> tuple[Int64Array, Int64Array]:
    """(owner, value) for every value in every [starts[i], ends[i]): concatenated aranges."""
    lens = np.maximum(ends - starts, 0)
    owner = np.repeat(np.arange(len(starts), dtype=np.int64), lens)
    offsets = np.cumsum(lens) - lens
    value = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(offsets - starts, lens)
    return owner, value


def window_parts(
    problem: AllocationProblem, lo: Int64Array, hi: Int64Array
) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array, Int64Array, Int64Array]:
    """Split slot windows [lo, hi) (one channel each) into whole days and partial-day slots.

    Returns (day_lo, day_hi, head_lo, head_hi, tail_lo, tail_hi): the channel-days
    [day_lo, day_hi) lie wholly inside the window; the slots [head_lo, head_hi) and
    [tail_lo, tail_hi) are those of the days the window only partly covers. Empty windows
    give empty ranges.
    """
    ptr = problem.cday_slot_ptr
    n = len(lo)
    if problem.num_slots == 0 or n == 0:
        z = np.zeros(n, np.int64)
        return z, z, z, z, z, z
    cday = problem.slot_cday
    nonempty = hi > lo
    lo_c = np.where(nonempty, lo, 0)
    hi_c = np.where(nonempty, hi, 1)
    d_lo = cday[lo_c]
    d_hi = cday[hi_c - 1]
    first_full = np.where(ptr[d_lo] == lo_c, d_lo, d_lo + 1)
    last_full = np.where(ptr[d_hi + 1] == hi_c, d_hi, d_hi - 1)  # inclusive
    has_full = nonempty & (first_full <= last_full)
    day_lo = np.where(has_full, first_full, 0)
    day_hi = np.where(has_full, last_full + 1, 0)
    head_hi = np.where(has_full, ptr[day_lo], hi_c)
    tail_lo = np.where(has_full, ptr[day_hi], hi_c)
    zero = np.zeros(n, np.int64)
    return (
        day_lo,
        day_hi,
        np.where(nonempty, lo_c, zero),
        np.where(nonempty, head_hi, zero),
        np.where(nonempty, tail_lo, zero),
        np.where(nonempty, hi_c, zero),
    )


def window_entries(
    problem: AllocationProblem, lo: Int64Array, hi: Int64Array
) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array]:
    """(owner, cday) of the whole-day entries and (owner, slot) of the slot entries."""
    day_lo, day_hi, h_lo, h_hi, t_lo, t_hi = window_parts(problem, lo, hi)
    day_owner, day = expand_ranges(day_lo, day_hi)
    o1, s1 = expand_ranges(h_lo, h_hi)
    o2, s2 = expand_ranges(t_lo, t_hi)
    return day_owner, day, np.concatenate([o1, o2]), np.concatenate([s1, s2])
