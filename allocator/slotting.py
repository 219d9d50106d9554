"""The deterministic rule that gives each chosen (video, channel) pair a concrete slot.

Per channel, walk its free slots in time order. Each slot goes to the chosen video that can
still use it (its window has opened) and whose window closes first; among equal deadlines
(every video with an open-ended window shares the channel's end as deadline) the higher score
wins, then the lower video index. So, among the videos not pressed by a deadline, the highest
score takes the earliest slot.

Why every choice fits: on one channel a video's allowed slots form an interval (the slots are
sorted by time and the window is an interval). For intervals, "serve the earliest deadline
first" is Glover's rule for convex bipartite graphs: if any assignment of the chosen videos to
distinct slots exists, this one finds one (an exchange argument: any solution can be rewritten
slot by slot into the EDF choice without losing a video). The flow model guarantees that such
an assignment exists (see `allocator.flow`), so `SlottingError` means a bug upstream.

With quota windows the flow also decides each pair's part (its channel's slots in one
window): the rule runs over each part on its own, where the flow's argument holds again.

With min_hours_between the slot of each timed video is part of the model's decision, and the
model's slot is kept (`assign_slots` is only used for untimed pairs).
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

from allocator.problem import AllocationProblem, Int64Array


class SlottingError(RuntimeError):
    """The chosen pairs do not fit the channel's slots (cannot happen for a feasible choice)."""


def assign_slots(
    problem: AllocationProblem,
    chosen: Int64Array,
    taken: Int64Array | None = None,
    part: Int64Array | None = None,
    lenient: bool = False,
) -> Int64Array:
    """Slot index for each chosen candidate, by the rule above; `taken` slots are skipped.

    `part` (the flow's part of each chosen pair, see `allocator.limits`) keeps every pair in
    the part the flow put it in: the rule then runs over each part's slots on their own.
    `lenient` leaves a pair that does not fit at -1 instead of raising (a relaxation's choice).
    """
    p = problem
    chosen = np.asarray(chosen, np.int64)
    out = np.full(len(chosen), -1, np.int64)
    if len(chosen) == 0:
        return out
    lo, hi = p.slot_range(chosen)
    ch = p.cand_channel[chosen].astype(np.int64)
    lane = np.full(len(chosen), -1, np.int64) if part is None else np.asarray(part, np.int64)
    busy = np.zeros(p.num_slots, bool)
    if taken is not None and len(taken):
        busy[np.asarray(taken, np.int64)] = True
    order = np.lexsort((lo, lane, ch))
    score = p.cand_score[chosen]
    vid = p.cand_video[chosen]
    key = ch[order] * (p.num_parts + 1) + lane[order]
    bounds = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    for a, b in itertools.pairwise(bounds.tolist()):
        items = order[a:b].tolist()
        c, ln = int(ch[items[0]]), int(lane[items[0]])
        first, end = int(p.channel_slot_ptr[c]), int(p.channel_slot_ptr[c + 1])
        slots = np.arange(first, end)
        if ln >= 0:
            slots = slots[p.slot_part[first:end] == ln]
        heap: list[tuple[int, int, int, int]] = []
        k = 0
        for s in slots.tolist():
            while k < len(items) and lo[items[k]] <= s:
                i = items[k]
                heapq.heappush(heap, (int(hi[i]), -int(score[i]), int(vid[i]), i))
                k += 1
            if busy[s] or not heap:
                continue
            deadline, _, v, i = heapq.heappop(heap)
            while lenient and deadline <= s and heap:
                deadline, _, v, i = heapq.heappop(heap)  # its window closed: left out
            if deadline <= s:
                if lenient:
                    continue
                raise SlottingError(f"video {v} on channel {c}: its window closed unserved")
            out[i] = s
        if (heap or k < len(items)) and not lenient:
            raise SlottingError(f"channel {c}: {len(heap) + len(items) - k} chosen videos left")
    return out
