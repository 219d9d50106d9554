"""Overlapping quota windows: a restriction of the problem that the flow solves exactly.

When quota windows overlap (rolling 24 h spans, a channel in two pools) the flow holds only a
disjoint family of them (`allocator.limits`): its optimum is a bound, not a plan. `restrict`
drops, in time order, each slot that some window outside the family has no room for once
the slots kept before it are counted. Every plan on the kept slots then keeps those windows,
and the family's windows are all that can still bind: the flow on the kept slots is exact,
and its plan is a plan of the problem.

For a single channel whose candidates may take any of its slots at one value, the greedy
keeps the most slots any plan could fill (an exchange argument: a plan that differs first at
a slot the greedy kept can trade its next slot for it), so nothing is lost there; elsewhere it
is a restriction, and the bound stays the family's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from allocator.limits import binding_windows, member_window
from allocator.problem import AllocationProblem, Int64Array


def restrict(p: AllocationProblem) -> tuple[AllocationProblem, Int64Array]:
    """(the problem on the kept slots, the kept slots' indices in p)."""
    others = binding_windows(p)
    family = p.slot_window[p.slot_window >= 0]
    others[family[family < len(others)]] = False  # implied count windows are not the problem's
    if not np.any(others):
        return p, np.arange(p.num_slots, dtype=np.int64)
    windows_of: dict[int, list[int]] = {}
    members = member_window(p)
    for w, s in zip(members.tolist(), p.window_slots.tolist(), strict=True):
        if others[w]:
            windows_of.setdefault(s, []).append(w)
    left = p.window_capacity.tolist()
    keep = np.zeros(p.num_slots, bool)
    for s in np.argsort(p.slot_time, kind="stable").tolist():
        ws = windows_of.get(s, ())
        if all(left[w] > 0 for w in ws):
            keep[s] = True
            for w in ws:
                left[w] -= 1
    kept = np.flatnonzero(keep)
    new_index = np.full(p.num_slots, -1, np.int64)
    new_index[kept] = np.arange(len(kept))
    on = keep[p.window_slots]
    sizes = np.bincount(members[on], minlength=len(p.window_capacity))
    sub = dataclasses.replace(
        p,
        slot_channel=p.slot_channel[kept],
        slot_time=p.slot_time[kept],
        slot_day=p.slot_day[kept],
        slot_weight=p.slot_weight[kept] if len(p.slot_weight) else p.slot_weight,
        window_slot_ptr=np.concatenate([[0], np.cumsum(sizes)]),
        window_slots=new_index[p.window_slots[on]],
    )
    return sub, kept
