"""The independent checker's own view of quota windows and slot weights (no solver code).

Slot factors and weight levels recomputed from `slot_weight`, the implied count windows
re-derived from the problem's windows, and the best entry of a candidate of a leveled channel
enumerated slot by slot; and the spacing helpers both use. `allocator.checker` uses them for
the objective and the bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.limits import slot_extra
from allocator.problem import AllocationProblem, DualCertificate, Int64Array


class ImpliedWindowError(ValueError):
    """An implied count window that is not one channel's slots or bounds too little."""


def check_implied(p: AllocationProblem, cert: DualCertificate) -> None:
    """A dual on an implied count window (`allocator.limits.implied_counts`) is valid only if
    the window is all of one channel's slots and its capacity is at least the most of them a
    plan can fill within the problem's binding windows, recomputed here."""
    mw = p.model_windows
    if len(cert.window) == 0 or not np.any(cert.window[mw.original :]):
        return
    ptr = np.searchsorted(p.slot_channel, np.arange(p.num_channels + 1))
    size = np.diff(p.window_slot_ptr)
    member = np.repeat(np.arange(len(size)), size)
    binding = (p.window_capacity < size)[member]
    holding_of: dict[int, list[int]] = {}
    for w, s in zip(member[binding].tolist(), p.window_slots[binding].tolist(), strict=True):
        holding_of.setdefault(s, []).append(w)
    for w in np.flatnonzero(cert.window[mw.original :]) + mw.original:
        slots = np.sort(mw.slots[mw.ptr[w] : mw.ptr[w + 1]])
        c = int(p.slot_channel[slots[0]]) if len(slots) else -1
        if c < 0 or not np.array_equal(slots, np.arange(ptr[c], ptr[c + 1])):
            raise ImpliedWindowError(f"implied window {w} is not one channel's slots")
        left = p.window_capacity.tolist()
        filled = 0
        for s in slots.tolist():
            holding = holding_of.get(s, [])
            if all(left[h] > 0 for h in holding):
                for h in holding:
                    left[h] -= 1
                filled += 1
        if mw.capacity[w] < filled:
            raise ImpliedWindowError(f"implied window {w}: capacity {mw.capacity[w]} < {filled}")


def factors(p: AllocationProblem) -> Int64Array:
    """Each slot's weight in hundredths, or 1 everywhere when every weight is 1.0."""
    w = p.slot_weight
    if len(w) == 0 or np.all(w == 100):
        return np.ones(p.num_slots, np.int64)
    return w.astype(np.int64)


def channel_top(p: AllocationProblem) -> Int64Array:
    """Each channel's largest slot factor (1 without slots)."""
    top = np.ones(p.num_channels, np.int64)
    np.maximum.at(top, p.slot_channel, factors(p))
    return top


def leveled(p: AllocationProblem) -> np.ndarray:
    """Channels whose slots have different factors."""
    low = np.full(p.num_channels, np.iinfo(np.int64).max)
    np.minimum.at(low, p.slot_channel, factors(p))
    return (low != channel_top(p)) & (low != np.iinfo(np.int64).max)


def max_value(p: AllocationProblem) -> int:
    if p.num_candidates == 0:
        return 0
    return int((np.abs(p.cand_score) * channel_top(p)[p.cand_channel]).max())


_CHUNK = 4_000_000  # (candidate, slot) pairs enumerated at once: bounds the memory


def window_slots(
    p: AllocationProblem, prices: SlotPrices, ch: Int64Array, vid: Int64Array
) -> tuple[Int64Array, Int64Array]:
    """Per (channel, video): the slots [lo, hi) of the channel inside the video's window.

    A channel's slots are contiguous and sorted by time, so `prices.key` is sorted over all
    slots and two searches find each range (times clipped into the key's span: an open window
    end lies past every slot, an open start before)."""
    if p.num_slots == 0:
        zero = np.zeros(len(ch), np.int64)
        return zero, zero
    origin, span = prices.origin, (1 << _KEY_BITS) - 1
    # Clipped before the subtraction: OPEN_START - origin would wrap around.
    start = np.clip(p.video_window_start[vid], origin, origin + span) - origin
    end = np.clip(p.video_window_end[vid], origin, origin + span) - origin
    key = prices.key
    return (
        np.searchsorted(key, (ch << _KEY_BITS) | start),
        np.searchsorted(key, (ch << _KEY_BITS) | end),
    )


def segment_best(values: Int64Array, lens: Int64Array, fill: int, best: str) -> Int64Array:
    """Per segment of `values` (consecutive runs of `lens`), its min or max (`best`);
    `fill` for an empty segment."""
    out = np.full(len(lens), fill, np.int64)
    has = lens > 0
    if has.any():
        starts = (np.cumsum(lens) - lens)[has]
        reduce = np.minimum if best == "min" else np.maximum
        out[has] = reduce.reduceat(values, starts)
    return out


_KEY_BITS = 40  # (channel, time from the first slot) keys: channel << 40 | seconds


@dataclass(frozen=True)
class SlotPrices:
    """What the pricing of every chunk of candidates reads, computed once per check."""

    ptr: Int64Array  # channel c's slots are [ptr[c], ptr[c + 1])
    extra: Int64Array  # per slot: its window and part duals
    factor: Int64Array  # per slot: its weight factor
    cheapest: tuple[tuple[int, Int64Array], ...]  # per factor: each channel's cheapest extra
    origin: int  # the first slot's time
    key: Int64Array  # per slot: channel << _KEY_BITS | (time - origin), sorted

    @classmethod
    def of(cls, p: AllocationProblem, cert: DualCertificate) -> SlotPrices:
        extra = slot_extra(p, cert)
        factor = factors(p)
        big = np.iinfo(np.int64).max // 4
        cheapest = []
        for f in np.unique(factor).tolist():
            per_channel = np.full(p.num_channels, big, np.int64)
            at_f = factor == f
            np.minimum.at(per_channel, p.slot_channel[at_f], extra[at_f])
            cheapest.append((int(f), per_channel))
        origin = int(p.slot_time.min()) if p.num_slots else 0
        return cls(
            ptr=np.searchsorted(p.slot_channel, np.arange(p.num_channels + 1)),
            extra=extra,
            factor=factor,
            cheapest=tuple(cheapest),
            origin=origin,
            key=(p.slot_channel.astype(np.int64) << _KEY_BITS) | (p.slot_time - origin),
        )


def best_entries(
    p: AllocationProblem, cert: DualCertificate, todo: Int64Array, prices: SlotPrices
) -> Int64Array:
    """For candidates `todo` of leveled channels: the best (value * den - price) over the slots
    they may take (the fill weight included; -inf when none). A candidate that may take any
    slot of its channel pays only the slot's window and part duals: per weight, the cheapest
    slot of that weight on its channel; the others are enumerated slot by slot, in chunks."""
    den = int(cert.denominator)
    out = np.full(len(todo), np.iinfo(np.int64).min // 4, np.int64)
    if len(todo) == 0:
        return out
    ch = p.cand_channel[todo].astype(np.int64)
    vid = p.cand_video[todo].astype(np.int64)
    c_lo, c_hi = prices.ptr[ch], prices.ptr[ch + 1]
    ws, we = p.video_window_start[vid], p.video_window_end[vid]
    first_t = p.slot_time[c_lo.clip(0, max(p.num_slots - 1, 0))]
    last_t = p.slot_time[(c_hi - 1).clip(0, max(p.num_slots - 1, 0))]
    timed = cert.timed_video[vid]
    covers = (ws <= first_t) & (we > last_t) & ~timed & (c_hi > c_lo)
    score = p.cand_score[todo]
    big = np.iinfo(np.int64).max // 4
    for f, per_channel in prices.cheapest:
        cheapest = per_channel[ch]
        value = (score * f + cert.fill_weight) * den - cheapest
        out = np.where(covers & (cheapest < big), np.maximum(out, value), out)
    # The others: only the slots inside each one's window can take it.
    rest = np.flatnonzero(~covers)
    w_lo, w_hi = window_slots(p, prices, ch[rest], vid[rest])
    lens = w_hi - w_lo
    starts = np.cumsum(lens) - lens
    i = 0
    while i < len(rest):
        j = max(int(np.searchsorted(starts, starts[i] + _CHUNK, side="left")), i + 1)
        out[rest[i:j]] = np.maximum(
            out[rest[i:j]],
            _enumerated(p, cert, todo[rest[i:j]], w_lo[i:j], lens[i:j], prices),
        )
        i = j
    return out


def _enumerated(
    p: AllocationProblem,
    cert: DualCertificate,
    cand: Int64Array,
    lo: Int64Array,
    lens: Int64Array,
    prices: SlotPrices,
) -> Int64Array:
    """`best_entries` of candidates `cand` over their slots [lo, lo + lens), slot by slot."""
    den = int(cert.denominator)
    vid = p.cand_video[cand].astype(np.int64)
    owner = np.repeat(np.arange(len(cand)), lens)
    slot = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens - lo, lens)
    t = p.slot_time[slot]
    v_o = vid[owner]
    allowed = (t >= p.video_window_start[v_o]) & (t < p.video_window_end[v_o])
    price = prices.extra[slot] + cert.cday[p.slot_cday[slot]] + cert.slot[slot]
    if p.spacing_seconds > 0:
        tim = cert.timed_video[v_o]
        allowed &= ~(tim & near_pin(p, v_o, t))
        price = price + np.where(tim, spacing_sum(p, cert, v_o, t), 0)
    value = (p.cand_score[cand][owner] * prices.factor[slot] + cert.fill_weight) * den - price
    low = np.iinfo(np.int64).min // 4
    return segment_best(np.where(allowed, value, low), lens, low, "max")


def pack(p: AllocationProblem, v: Int64Array, t: Int64Array) -> Int64Array:
    """One sortable int64 per (video, time): video in the high bits, time below."""
    return (v << 42) + np.clip(t - p.time_origin + (1 << 41), 0, (1 << 42) - 1)


def near_pin(p: AllocationProblem, vid: Int64Array, t: Int64Array) -> np.ndarray:
    """Whether (vid, t) is closer than min_hours_between to a pin of the same video."""
    gap = p.spacing_seconds
    if len(p.pin_video) == 0:
        return np.zeros(len(vid), bool)
    keys = np.sort(pack(p, p.pin_video.astype(np.int64), p.pin_time))
    # A pin in (t - gap, t + gap) exists iff the count of pin keys in that open range is > 0.
    lo = np.searchsorted(keys, pack(p, vid, t - gap), side="right")
    hi = np.searchsorted(keys, pack(p, vid, t + gap), side="left")
    return hi > lo


def spacing_sum(
    p: AllocationProblem, cert: DualCertificate, vid: Int64Array, t: Int64Array
) -> Int64Array:
    """Sum of the spacing duals of `vid` whose row [T, T + gap) contains t."""
    gap = p.spacing_seconds
    if len(cert.spacing_video) == 0:
        return np.zeros(len(vid), np.int64)
    keys = pack(p, cert.spacing_video.astype(np.int64), cert.spacing_start)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    prefix = np.r_[0, np.cumsum(cert.spacing_value[order])]
    hi = np.searchsorted(keys, pack(p, vid, t), side="right")  # T <= t
    lo = np.searchsorted(keys, pack(p, vid, t - gap), side="right")  # T <= t - gap
    return prefix[hi] - prefix[lo]
