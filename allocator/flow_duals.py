"""The flow's integer duals and where its units went: node potentials from an optimal flow
(see `allocator.flow`'s docstring, "Duals"), and the parts a parted channel's root hands on.
"""

from __future__ import annotations

import numpy as np

from allocator.problem import AllocationProblem, Int64Array


class NegativeCycle(RuntimeError):
    """The residual graph has a negative cycle: the flow was not optimal."""


def root_parts(
    p: AllocationProblem, lo: Int64Array, hi: Int64Array, root_flow: Int64Array
) -> Int64Array:
    """Parts for the units the root of a channel passed on (sorted by channel), as many per
    part as its arc carried. A unit whose own window is narrower than its channel's slots (a
    member of a same-source group entered as a whole) goes first, to a part its window meets."""
    left = root_flow.astype(np.int64).copy()
    out = np.full(len(lo), -1, np.int64)
    first = p.slot_channel[np.minimum(lo, max(p.num_slots - 1, 0))].astype(np.int64)
    full = (lo == p.channel_slot_ptr[first]) & (hi == p.channel_slot_ptr[first + 1])
    for i in np.flatnonzero(~full).tolist():
        met = np.unique(p.slot_part[lo[i] : hi[i]])
        met = met[left[met] > 0]
        if len(met):
            q = int(met[np.argmax(left[met])])
            out[i] = q
            left[q] -= 1
    rest = np.flatnonzero(out < 0)
    out[rest] = np.repeat(np.arange(p.num_parts), left)[: len(rest)]
    return out


def potentials(
    n: int,
    tails: Int64Array,
    heads: Int64Array,
    caps: Int64Array,
    costs: Int64Array,
    flows: Int64Array,
) -> Int64Array:
    """Integer node potentials d with cost + d[tail] - d[head] >= 0 on every residual arc.

    d is the shortest distance from a virtual root joined to every node by a 0-cost arc (so
    d starts at 0 everywhere), normalised so that d[src] = 0; the bypass then forces
    d[sink] = 0 as well. Vectorised Bellman-Ford: relax every residual arc at once until a
    pass changes nothing; more than n passes would mean a negative cycle, i.e. a flow that is
    not optimal.
    """
    fwd = flows < caps
    bwd = flows > 0
    src = np.concatenate([tails[fwd], heads[bwd]])
    dst = np.concatenate([heads[fwd], tails[bwd]])
    w = np.concatenate([costs[fwd], -costs[bwd]])
    d = np.zeros(n, np.int64)
    for _ in range(n + 1):
        relaxed = d.copy()
        np.minimum.at(relaxed, dst, d[src] + w)
        if np.array_equal(relaxed, d):
            return d - d[0]
        d = relaxed
    raise NegativeCycle("negative cycle in the residual graph: the flow is not optimal")
