"""The consistency checks of an `AllocationProblem`'s arrays, each naming the bad field."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from allocator.limits import member_window, vp_key
from allocator.weights import MAX_WEIGHT, max_abs_score, max_abs_value

if TYPE_CHECKING:
    from allocator.problem import AllocationProblem

# Times inside the model are seconds relative to the earliest slot, so that (channel, time)
# packs into one int64 sort key: channel << _TIME_BITS | relative time.
_TIME_BITS = 40


class ProblemError(ValueError):
    """An `AllocationProblem` whose arrays are inconsistent; names the field and the value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


def check_sizes(p: AllocationProblem) -> None:
    """Lengths of the arrays and the scalar settings."""
    e, v, s, n_pins = (
        len(p.cand_video),
        len(p.video_capacity),
        len(p.slot_channel),
        len(p.pin_video),
    )
    for name, n, want in [
        ("cand_channel", len(p.cand_channel), e),
        ("cand_score", len(p.cand_score), e),
        ("video_source", len(p.video_source), v),
        ("video_window_start", len(p.video_window_start), v),
        ("video_window_end", len(p.video_window_end), v),
        ("slot_time", len(p.slot_time), s),
        ("slot_day", len(p.slot_day), s),
        ("pin_channel", len(p.pin_channel), n_pins),
        ("pin_time", len(p.pin_time), n_pins),
    ]:
        if n != want:
            raise ProblemError(name, n, f"length must be {want}")
    if p.num_channels < 0 or p.num_channels >= 1 << 22:
        raise ProblemError("num_channels", p.num_channels, "must be in [0, 2**22)")
    if p.min_hours_between < 0:
        raise ProblemError("min_hours_between", p.min_hours_between, "must be >= 0")
    if not p.time_limit_seconds > 0:
        raise ProblemError("time_limit_seconds", p.time_limit_seconds, "must be > 0")
    if p.num_workers < 1:
        raise ProblemError("num_workers", p.num_workers, "must be >= 1")


def check_ranges(p: AllocationProblem) -> None:
    """Index ranges, windows, scores, slot order and unique candidates."""
    v, c = p.num_videos, p.num_channels
    for name, arr, hi in [
        ("cand_video", p.cand_video, v),
        ("cand_channel", p.cand_channel, c),
        ("slot_channel", p.slot_channel, c),
        ("pin_video", p.pin_video, v),
        ("pin_channel", p.pin_channel, c),
    ]:
        if len(arr) and (int(arr.min()) < 0 or int(arr.max()) >= hi):
            bad = arr[(arr < 0) | (arr >= hi)][0]
            raise ProblemError(name, int(bad), f"must index [0, {hi})")
    if len(p.video_capacity) and int(p.video_capacity.min()) < 0:
        raise ProblemError("video_capacity", int(p.video_capacity.min()), "must be >= 0")
    if np.any(p.video_window_start > p.video_window_end):
        i = int(np.argmax(p.video_window_start > p.video_window_end))
        raise ProblemError("video_window_start", i, "window starts after it ends")
    top = max_abs_score(p)
    if top >= 1 << 30:
        raise ProblemError("cand_score", top, "|score| < 2**30")
    if len(p.slot_time):
        span = int(p.slot_time.max()) - int(p.slot_time.min())
        if span >= 1 << (_TIME_BITS - 1):
            raise ProblemError("slot_time", span, "horizon too long")
        key = p.slot_key
        if np.any(np.diff(key) <= 0):
            i = int(np.argmax(np.diff(key) <= 0)) + 1
            raise ProblemError("slot_time", i, "slots must be sorted by (channel, time), unique")
        same_channel = np.diff(p.slot_channel) == 0
        if np.any(same_channel & (np.diff(p.slot_day) < 0)):
            raise ProblemError("slot_day", "", "days must not decrease within a channel")
    # Candidates usually come channel by channel in video order: strictly increasing keys
    # are unique without sorting (a sort of 10M keys took longer than the rest here).
    if len(p.cand_video) and not _pairs_increase(p):
        ordered = np.sort(_pair_keys(p, 0, p.num_candidates))
        dup = np.flatnonzero(ordered[1:] == ordered[:-1])
        if len(dup):
            ch, vid = divmod(int(ordered[dup[0]]), max(v, 1))
            raise ProblemError("cand_video", (vid, ch), "duplicate (video, channel) candidate")


_RUN = 1 << 20  # candidate keys compared at once: small temporaries, reused and cached


def _pair_keys(p: AllocationProblem, lo: int, hi: int) -> npt.NDArray[np.int64]:
    """channel * V + video of candidates [lo, hi)."""
    return p.cand_channel[lo:hi].astype(np.int64) * max(p.num_videos, 1) + p.cand_video[lo:hi]


def _pairs_increase(p: AllocationProblem) -> bool:
    """Whether the (channel, video) keys of the candidates strictly increase."""
    n = p.num_candidates
    for lo in range(0, n, _RUN):
        pair = _pair_keys(p, lo, min(n, lo + _RUN + 1))  # one key of overlap
        if not np.all(pair[1:] > pair[:-1]):
            return False
    return True


def check_limits(p: AllocationProblem) -> None:
    """Raise ProblemError naming the first inconsistent window or platform array."""
    w = len(p.window_capacity)
    ptr, slots = p.window_slot_ptr, p.window_slots
    if len(ptr) != w + 1:
        raise ProblemError("window_slot_ptr", len(ptr), f"length must be {w + 1}")
    if ptr[0] != 0 or ptr[-1] != len(slots) or np.any(np.diff(ptr) < 0):
        raise ProblemError("window_slot_ptr", ptr.tolist()[:8], f"must rise from 0 to {len(slots)}")
    if len(slots) and (int(slots.min()) < 0 or int(slots.max()) >= p.num_slots):
        raise ProblemError("window_slots", int(slots.max()), f"must index [0, {p.num_slots})")
    if w and int(p.window_capacity.min()) < 0:
        raise ProblemError("window_capacity", int(p.window_capacity.min()), "must be >= 0")
    if len(slots):
        key = np.sort(member_window(p) * max(p.num_slots, 1) + slots)
        if np.any(key[1:] == key[:-1]):
            raise ProblemError("window_slots", "", "a slot listed twice in one window")
    if len(p.channel_platform) not in (0, p.num_channels):
        raise ProblemError("channel_platform", len(p.channel_platform), "one per channel or none")
    if len(p.channel_platform) and int(p.channel_platform.min()) < -1:
        raise ProblemError("channel_platform", int(p.channel_platform.min()), "must be >= -1")
    r = len(p.vp_video)
    for name in ("vp_platform", "vp_capacity"):
        if len(getattr(p, name)) != r:
            raise ProblemError(name, len(getattr(p, name)), f"length must be {r}")
    if r:
        if int(p.vp_video.min()) < 0 or int(p.vp_video.max()) >= p.num_videos:
            raise ProblemError("vp_video", int(p.vp_video.max()), "must index the videos")
        if int(p.vp_platform.min()) < 0 or int(p.vp_capacity.min()) < 0:
            raise ProblemError("vp_capacity", int(p.vp_capacity.min()), "platform, cap >= 0")
        key = np.sort(vp_key(p.vp_video, p.vp_platform))
        if np.any(key[1:] == key[:-1]):
            raise ProblemError("vp_video", "", "a (video, platform) row listed twice")


def check_weights(p: AllocationProblem) -> None:
    """Slot weights: one per slot or none, in hundredths within [1, MAX_WEIGHT], and values
    small enough for the flow's integer costs (SCHEDULE's fill weight multiplies them)."""
    w = p.slot_weight
    if len(w) not in (0, p.num_slots):
        raise ProblemError("slot_weight", len(w), f"one per slot ({p.num_slots}) or none")
    if len(w) and (int(w.min()) < 1 or int(w.max()) > MAX_WEIGHT):
        raise ProblemError("slot_weight", int(w.max()), f"hundredths in [1, {MAX_WEIGHT}]")
    top = max_abs_value(p)
    if top >= 1 << 46:
        raise ProblemError("slot_weight", top, "|score * weight| must be < 2**46")
    fill = min(int(p.video_capacity.sum()), p.num_slots) + 1
    if p.mode.value == "SCHEDULE" and 2 * fill * fill * max(top, 1) >= 1 << 61:
        raise ProblemError("slot_weight", top, "values too large for SCHEDULE mode's fill weight")
