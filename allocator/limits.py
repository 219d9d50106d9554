"""Quota windows and platform caps in the model: their checks, the window family and parts.

Quota window w is a set of free slots, of any channels, that may take at most
`window_capacity[w]` new assignments: one calendar day of a quota pool, or one 24-hour span of
a rolling pool, with what the pool's live distributions already use there taken off. Its
slots are `window_slots[window_slot_ptr[w]:window_slot_ptr[w + 1]]`. A platform cap row r
lets video `vp_video[r]` take at most `vp_capacity[r]` more channels whose
`channel_platform` is `vp_platform[r]`.

How the flow stays exact. A window that cannot overfill (capacity >= its slots) is left out.
If every slot lies in at most one of the others, they partition the slots, and the flow
(`allocator.flow`) gives each channel with such slots one *part* node per window it meets
(plus one for its slots outside every window): day entries and free candidates enter the
channel's parts, each part's arc holds its slot count and leads to its window's node, whose
arc to the sink holds the window's capacity. Channel-days are cut where a window begins or
ends, so every day node lies in one part, and the argument of `allocator.flow` holds part by
part. A (video, platform) row is a node between the video and its candidates there: a tree
under the video, still a flow.

When windows overlap (rolling 24 h spans, a channel in two pools), the *family* is the
windows taken in their order whenever their slots are still uncovered: pairwise disjoint, so
the flow above is a relaxation over it, its bound is still an upper bound, and the plan is
then made to fit every window (`allocator.greedy.fit_limits`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from allocator.weights import MAX_WEIGHT, level_key

if TYPE_CHECKING:
    from allocator.problem import AllocationProblem, BoolArray, DualCertificate, Int64Array


def member_window(p: AllocationProblem) -> Int64Array:
    """The window of each entry of `window_slots`."""
    sizes = np.diff(p.window_slot_ptr)
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def binding_windows(p: AllocationProblem) -> BoolArray:
    """Windows that could overfill: fewer places than slots."""
    return np.asarray(p.window_capacity < np.diff(p.window_slot_ptr), bool)


@dataclass(frozen=True, eq=False)
class ModelWindows:
    """The windows the model holds: the problem's (the first `original`), then one implied
    *count* window per channel whose slots overlapping windows constrain: all its slots, at
    most the most slots of it that every window lets a plan fill (`implied_counts`)."""

    capacity: Int64Array
    ptr: Int64Array
    slots: Int64Array
    original: int

    @property
    def count(self) -> int:
        """Number of windows, implied ones included."""
        return len(self.capacity)

    @cached_property
    def member(self) -> Int64Array:
        """The window of each entry of `slots`."""
        return np.repeat(np.arange(self.count, dtype=np.int64), np.diff(self.ptr))


def implied_counts(p: AllocationProblem) -> list[tuple[int, int]]:
    """(channel, K) for each channel with a slot in two binding windows, where K < its free
    slots is the most of its slots any plan can fill within the windows. Windows restricted
    to one channel's slots are relaxations of themselves, and on them taking each slot in
    time order when every window holding it has room keeps the most (a plan that differs
    first at a slot the greedy took can trade its next slot for it): so K bounds the channel
    in every plan."""
    binding = binding_windows(p)
    if not np.any(binding):
        return []
    members = member_window(p)
    on = binding[members]
    per_slot = np.bincount(p.window_slots[on], minlength=p.num_slots)
    windows_of: dict[int, list[int]] = {}
    for w, s in zip(members[on].tolist(), p.window_slots[on].tolist(), strict=True):
        windows_of.setdefault(s, []).append(w)
    capacity = p.window_capacity.tolist()
    out = []
    for c in np.unique(p.slot_channel[per_slot >= 2]).tolist():
        left: dict[int, int] = {}
        filled = 0
        for s in range(int(p.channel_slot_ptr[c]), int(p.channel_slot_ptr[c + 1])):
            ws = windows_of.get(s, ())
            if all(left.get(w, capacity[w]) > 0 for w in ws):
                filled += 1
                for w in ws:
                    left[w] = left.get(w, capacity[w]) - 1
        if filled < int(p.channel_free[c]):
            out.append((c, filled))
    return out


def model_windows(p: AllocationProblem) -> ModelWindows:
    """The problem's windows and the implied count windows (`implied_counts`)."""
    implied = implied_counts(p)
    spans = [np.arange(p.channel_slot_ptr[c], p.channel_slot_ptr[c + 1]) for c, _ in implied]
    return ModelWindows(
        capacity=np.concatenate([p.window_capacity, [k for _, k in implied]]).astype(np.int64),
        ptr=np.concatenate(
            [
                p.window_slot_ptr,
                p.window_slot_ptr[-1] + np.cumsum([len(x) for x in spans], dtype=np.int64),
            ]
        ).astype(np.int64),
        slots=np.concatenate([p.window_slots, *spans]).astype(np.int64),
        original=len(p.window_capacity),
    )


def family_of_slots(p: AllocationProblem) -> Int64Array:
    """Per slot, the family window that holds it (-1: none; ids of `p.model_windows`): the
    implied count windows first, then the binding windows in order, each taken when none of
    its slots is taken yet."""
    mw = p.model_windows
    out = np.full(p.num_slots, -1, np.int64)
    binding = np.flatnonzero(binding_windows(p)).tolist()
    for w in [*range(mw.original, mw.count), *binding]:
        members = mw.slots[mw.ptr[w] : mw.ptr[w + 1]]
        if np.all(out[members] < 0):
            out[members] = w
    return out


def windows_exact(p: AllocationProblem) -> bool:
    """Whether the family holds every binding window of the problem (the flow is then exact
    on windows; an implied window in the family means it is not)."""
    family = np.zeros(p.model_windows.count, bool)
    family[p.slot_window[p.slot_window >= 0]] = True
    return bool(np.all(family[: p.model_windows.original] | ~binding_windows(p)))


def parts_of_slots(p: AllocationProblem) -> tuple[Int64Array, Int64Array, Int64Array]:
    """(slot_part, part_channel, part_window): the parts of the channels that meet a window
    or weigh their slots differently (`allocator.weights`): one per (window, weight)."""
    parted = p.channel_leveled.copy()
    parted[p.slot_channel[p.slot_window >= 0]] = True
    in_part = parted[p.slot_channel]
    radix = MAX_WEIGHT + 1
    n_windows = p.model_windows.count
    key = p.slot_channel[in_part].astype(np.int64) * (n_windows + 1)
    key = (key + p.slot_window[in_part] + 1) * radix + level_key(p)[in_part]
    uniq, inverse = np.unique(key, return_inverse=True)
    slot_part = np.full(p.num_slots, -1, np.int64)
    slot_part[in_part] = inverse
    part_channel, part_window = np.divmod(uniq // radix, n_windows + 1)
    return slot_part, part_channel, part_window - 1


def vp_key(video: npt.ArrayLike, platform: npt.ArrayLike) -> Int64Array:
    """One sortable int64 per (video, platform)."""
    return (np.asarray(video, np.int64) << 31) + np.asarray(platform, np.int64)


def candidate_rows(p: AllocationProblem) -> Int64Array:
    """The (video, platform) row of each candidate, -1 where none applies."""
    out = np.full(p.num_candidates, -1, np.int64)
    if len(p.vp_video) == 0 or len(p.channel_platform) == 0:
        return out
    keys = vp_key(p.vp_video, p.vp_platform)
    order = np.argsort(keys)
    platform = p.channel_platform[p.cand_channel].astype(np.int64)
    want = vp_key(p.cand_video, platform)
    pos = np.minimum(np.searchsorted(keys[order], want), len(keys) - 1)
    hit = (keys[order][pos] == want) & (platform >= 0)
    out[hit] = order[pos[hit]]
    return out


def window_use(p: AllocationProblem, slot: Int64Array) -> Int64Array:
    """Assignments in each window when the slots `slot` are taken."""
    used = np.zeros(p.num_slots, bool)
    used[np.asarray(slot, np.int64)] = True
    return np.bincount(
        member_window(p)[used[p.window_slots]], minlength=len(p.window_capacity)
    ).astype(np.int64)


def fits_limits(p: AllocationProblem, cand: Int64Array, slot: Int64Array) -> bool:
    """Whether the assignments keep every window and every platform cap."""
    if np.any(window_use(p, slot) > p.window_capacity):
        return False
    rows = p.cand_vp[np.asarray(cand, np.int64)]
    use = np.bincount(rows[rows >= 0], minlength=len(p.vp_video))
    return not np.any(use > p.vp_capacity)


def slot_extra(p: AllocationProblem, cert: DualCertificate) -> Int64Array:
    """Per slot, the duals of the part and of every window that holds it (0 when empty)."""
    extra = np.zeros(p.num_slots, np.int64)
    if len(cert.window):
        mw = p.model_windows
        np.add.at(extra, mw.slots, cert.window[mw.member])
    if len(cert.part):
        parted = p.slot_part >= 0
        extra[parted] += cert.part[p.slot_part[parted]]
    return extra


def channel_min_extra(p: AllocationProblem, extra: Int64Array) -> Int64Array:
    """Per channel, the cheapest `slot_extra` of its slots (0 for a channel with none)."""
    out = np.zeros(p.num_channels, np.int64)
    if p.num_slots:
        starts = p.channel_slot_ptr[:-1]
        has = p.channel_free > 0
        out[has] = np.minimum.reduceat(extra, starts[has])
    return out


def vp_dual(p: AllocationProblem, cert: DualCertificate, cand: Int64Array) -> Int64Array:
    """The (video, platform) dual each candidate pays (0 without a row)."""
    if len(cert.video_platform) == 0:
        return np.zeros(len(cand), np.int64)
    rows = p.cand_vp[cand]
    return np.where(rows >= 0, cert.video_platform[np.maximum(rows, 0)], 0)


def limit_row_value(p: AllocationProblem, cert: DualCertificate) -> int:
    """sum rhs * dual over the window, part and (video, platform) rows."""
    total = 0
    if len(cert.window):
        total += int((p.model_windows.capacity * cert.window).sum())
    if len(cert.part):
        total += int((p.part_free * cert.part).sum())
    if len(cert.video_platform):
        total += int((p.vp_capacity.astype(np.int64) * cert.video_platform).sum())
    return total
