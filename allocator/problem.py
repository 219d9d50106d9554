"""Input and output of the optimisation core: frozen dataclasses of numpy arrays.

An `AllocationProblem` is what is left to decide once eligibility, duplicates against live
distributions and `min_score` have been applied upstream: a list of candidate (video, channel)
pairs with integer scores, the free posting slots of every channel, how many more channels each
video may still take, and the live distributions (pins) that matter for spacing.

Indices, not ids: videos are 0..V-1, channels 0..C-1, slots 0..S-1, candidates 0..E-1. The
caller keeps the id tables.

The linear programme every certificate refers to (see `allocator.pruning` and
`allocator.checker`) has one row per:

* video v:            sum over its candidates  <= video_capacity[v]
* channel c:          sum over its candidates  <= number of free slots of c
* channel-day d:      slot entries on d        <= number of free slots of d
* slot s:             slot entries at s        <= 1
* (source group, c):  sum over the group on c  <= 1
* spacing (v, T):     v's slot entries in [T, T + min_hours_between) <= 1
* quota window w:     slot entries in the window's slots <= window_capacity[w]
* part (c, w):        slot entries of channel c in window w <= its slots there
* (video, platform):  v's entries on channels of the platform <= vp_capacity[row]

(The last three only when the problem has quota windows or platform caps, see
`allocator.limits`.)

`DualCertificate` holds non-negative integer duals for those rows (scaled by `denominator`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from allocator.limits import (
    ModelWindows,
    candidate_rows,
    family_of_slots,
    model_windows,
    parts_of_slots,
)
from allocator.plan_types import BoolArray as BoolArray
from allocator.plan_types import DualCertificate as DualCertificate
from allocator.plan_types import Int32Array as Int32Array
from allocator.plan_types import Int64Array as Int64Array
from allocator.plan_types import Plan as Plan
from allocator.plan_types import SolverStatus as SolverStatus
from allocator.plan_types import relative_gap as relative_gap
from allocator.problem_checks import (
    _TIME_BITS,
    check_limits,
    check_ranges,
    check_sizes,
    check_weights,
)
from allocator.problem_checks import ProblemError as ProblemError
from allocator.weights import channel_factors, level_key, slot_factors

OPEN_START = np.iinfo(np.int64).min
"""`video_window_start` of a video available since forever."""
OPEN_END = np.iinfo(np.int64).max
"""`video_window_end` of a video that never expires."""


class Mode(enum.Enum):
    """FILTER maximises total score; SCHEDULE fills most slots first, then maximises score."""

    FILTER = "FILTER"
    SCHEDULE = "SCHEDULE"


def _frozen(value: Any, dtype: type, name: str, ndim: int = 1) -> npt.NDArray[Any]:
    array: npt.NDArray[Any] = np.array(value, dtype=dtype, copy=True)
    if array.ndim != ndim:
        raise ProblemError(name, array.shape, f"must be a {ndim}-d array")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class AllocationProblem:
    """One allocation to solve. Arrays are copied and made read-only on construction.

    Candidates: `cand_video[e]`, `cand_channel[e]`, `cand_score[e]`; already eligible, not
    duplicating a live pair, at or above min_score, and unique per (video, channel).
    Videos: `video_capacity[v]` more channels allowed (max_channels_per_video minus live pins),
    `video_source[v]` a group id shared by videos with the same normalised source URL (at most
    one per group on a channel), availability window `[video_window_start, video_window_end)`
    in epoch seconds (`OPEN_START` / `OPEN_END` when open).
    Slots: the free posting slots, sorted by (channel, time); `slot_day[s]` is the
    channel-local calendar day ordinal (any int that orders days, e.g. date.toordinal()).
    Pins: live distributions (video, channel, time) of videos in this problem; they matter only
    for `min_hours_between`, everything else about them is already folded into the arrays.
    """

    mode: Mode
    num_channels: int
    cand_video: Int32Array
    cand_channel: Int32Array
    cand_score: Int64Array
    video_capacity: Int32Array
    video_source: Int32Array
    video_window_start: Int64Array
    video_window_end: Int64Array
    slot_channel: Int32Array
    slot_time: Int64Array
    slot_day: Int32Array
    pin_video: Int32Array = field(default_factory=lambda: np.zeros(0, np.int32))
    pin_channel: Int32Array = field(default_factory=lambda: np.zeros(0, np.int32))
    pin_time: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    window_capacity: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    window_slot_ptr: Int64Array = field(default_factory=lambda: np.zeros(1, np.int64))
    window_slots: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    channel_platform: Int32Array = field(default_factory=lambda: np.zeros(0, np.int32))
    vp_video: Int32Array = field(default_factory=lambda: np.zeros(0, np.int32))
    vp_platform: Int32Array = field(default_factory=lambda: np.zeros(0, np.int32))
    vp_capacity: Int32Array = field(default_factory=lambda: np.zeros(0, np.int32))
    slot_weight: Int64Array = field(default_factory=lambda: np.zeros(0, np.int64))
    min_hours_between: int = 0
    time_limit_seconds: float = 10.0
    num_workers: int = 2

    def __post_init__(self) -> None:
        specs: list[tuple[str, type]] = [
            ("cand_video", np.int32),
            ("cand_channel", np.int32),
            ("cand_score", np.int64),
            ("video_capacity", np.int32),
            ("video_source", np.int32),
            ("video_window_start", np.int64),
            ("video_window_end", np.int64),
            ("slot_channel", np.int32),
            ("slot_time", np.int64),
            ("slot_day", np.int32),
            ("pin_video", np.int32),
            ("pin_channel", np.int32),
            ("pin_time", np.int64),
            ("window_capacity", np.int64),
            ("window_slot_ptr", np.int64),
            ("window_slots", np.int64),
            ("channel_platform", np.int32),
            ("vp_video", np.int32),
            ("vp_platform", np.int32),
            ("vp_capacity", np.int32),
            ("slot_weight", np.int64),
        ]
        for name, dtype in specs:
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype, name))
        if not isinstance(self.mode, Mode):
            raise ProblemError("mode", self.mode, "must be a Mode")
        check_sizes(self)
        check_ranges(self)
        check_limits(self)
        check_weights(self)

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def num_videos(self) -> int:
        """V."""
        return len(self.video_capacity)

    @property
    def num_candidates(self) -> int:
        """E."""
        return len(self.cand_video)

    @property
    def num_slots(self) -> int:
        """S."""
        return len(self.slot_channel)

    # ---- derived structure, computed once ------------------------------------------------
    @cached_property
    def time_origin(self) -> int:
        """The earliest slot time: model times are relative to it."""
        return int(self.slot_time.min()) if len(self.slot_time) else 0

    @cached_property
    def slot_key(self) -> Int64Array:
        """channel << 40 | (time - origin): strictly increasing over the slots."""
        rel = self.slot_time - self.time_origin
        return (self.slot_channel.astype(np.int64) << _TIME_BITS) | rel

    @cached_property
    def channel_slot_ptr(self) -> Int64Array:
        """Slots of channel c are `channel_slot_ptr[c]:channel_slot_ptr[c+1]`."""
        return np.searchsorted(self.slot_channel, np.arange(self.num_channels + 1)).astype(np.int64)

    @cached_property
    def channel_free(self) -> Int64Array:
        """Number of free slots per channel: the channel row's right-hand side."""
        return np.diff(self.channel_slot_ptr)

    @cached_property
    def slot_cday(self) -> Int64Array:
        """Global channel-day index of each slot (0..D-1, ordered like the slots)."""
        if not len(self.slot_channel):
            return np.zeros(0, np.int64)
        # A quota window of the relaxation family that starts or ends inside a channel-day
        # splits it: every day node then lies in one window (`allocator.limits`).
        new = np.ones(len(self.slot_channel), bool)
        new[1:] = (
            (np.diff(self.slot_channel) != 0)
            | (np.diff(self.slot_day) != 0)
            | (np.diff(self.slot_window) != 0)
            | (np.diff(level_key(self)) != 0)
        )
        return np.cumsum(new).astype(np.int64) - 1

    @cached_property
    def cday_slot_ptr(self) -> Int64Array:
        """Slots of channel-day d are `cday_slot_ptr[d]:cday_slot_ptr[d+1]`."""
        d = int(self.slot_cday[-1]) + 1 if len(self.slot_cday) else 0
        return np.searchsorted(self.slot_cday, np.arange(d + 1)).astype(np.int64)

    @property
    def num_cdays(self) -> int:
        """D, the number of channel-days with at least one free slot."""
        return len(self.cday_slot_ptr) - 1

    @cached_property
    def cday_free(self) -> Int64Array:
        """Number of free slots per channel-day: the day row's right-hand side."""
        return np.diff(self.cday_slot_ptr)

    def slot_range(self, cand: Int64Array | None = None) -> tuple[Int64Array, Int64Array]:
        """For candidates `cand` (all by default): slots [lo, hi) their window allows.

        Slots of one channel are contiguous and time-sorted, so a window is a slot interval.
        """
        idx = np.arange(self.num_candidates) if cand is None else cand
        vid = self.cand_video[idx]
        ch = self.cand_channel[idx].astype(np.int64)
        lo = self.channel_slot_ptr[ch]
        hi = self.channel_slot_ptr[ch + 1]
        ws = self.video_window_start[vid]
        we = self.video_window_end[vid]
        cut = (ws > OPEN_START) | (we < OPEN_END)
        if np.any(cut):
            # Relative times clipped to [-1, 2**40 - 1]: -1 sorts before every slot of the
            # channel and 2**40 - 1 after, so one searchsorted on slot_key finds both ends.
            top = np.int64((1 << _TIME_BITS) - 1)
            origin = self.time_origin
            rel_s = np.minimum(np.maximum(ws[cut], origin - 1) - origin, top)
            rel_e = np.minimum(np.maximum(we[cut], origin - 1) - origin, top)
            base = ch[cut] << _TIME_BITS
            lo = lo.copy()
            hi = hi.copy()
            lo[cut] = np.searchsorted(self.slot_key, base + np.maximum(rel_s, 0))
            hi[cut] = np.searchsorted(self.slot_key, base + rel_e)
            hi = np.maximum(hi, lo)
        return lo, hi

    @cached_property
    def model_windows(self) -> ModelWindows:
        """The windows the model holds: the problem's and implied ones (`allocator.limits`)."""
        return model_windows(self)

    @cached_property
    def slot_window(self) -> Int64Array:
        """The relaxation family's window of each slot, -1 for none (`allocator.limits`)."""
        return family_of_slots(self)

    @cached_property
    def has_limits(self) -> bool:
        """Whether any quota window or platform cap can bind."""
        return bool(np.any(self.slot_window >= 0)) or bool(np.any(self.cand_vp >= 0))

    @cached_property
    def slot_factor(self) -> Int64Array:
        """What a score is worth per slot: its weight in hundredths (all 1 unweighted)."""
        return slot_factors(self)

    @property
    def value_scale(self) -> int:
        """Values are scores times this: 100 when any slot weighs other than 1.0, else 1."""
        return 100 if len(self.slot_weight) and np.any(self.slot_weight != 100) else 1

    @cached_property
    def channel_factor(self) -> Int64Array:
        """Per channel, the factor of its slots (the largest, when it is leveled)."""
        return channel_factors(self)[0]

    @cached_property
    def channel_leveled(self) -> BoolArray:
        """Channels whose slots weigh differently (`allocator.weights`)."""
        return channel_factors(self)[1]

    @cached_property
    def part_factor(self) -> Int64Array:
        """The factor of each part's slots (one per part on a leveled channel)."""
        out = np.ones(self.num_parts, np.int64)
        parted = self.slot_part >= 0
        out[self.slot_part[parted]] = self.slot_factor[parted]
        return out

    @cached_property
    def slot_part(self) -> Int64Array:
        """Part (channel, window) of each slot of a channel with windows, else -1."""
        return parts_of_slots(self)[0]

    @cached_property
    def part_channel(self) -> Int64Array:
        """The channel of each part."""
        return parts_of_slots(self)[1]

    @cached_property
    def part_window(self) -> Int64Array:
        """The family window of each part (-1: the channel's slots outside every window)."""
        return parts_of_slots(self)[2]

    @property
    def num_parts(self) -> int:
        """P."""
        return len(self.part_channel)

    @cached_property
    def part_free(self) -> Int64Array:
        """Number of free slots per part: the part row's right-hand side."""
        return np.bincount(self.slot_part[self.slot_part >= 0], minlength=self.num_parts)

    @cached_property
    def cand_vp(self) -> Int64Array:
        """The (video, platform) row of each candidate, -1 when its pair has none."""
        return candidate_rows(self)

    @cached_property
    def timed_videos(self) -> BoolArray:
        """Videos whose slot times matter: min_hours_between > 0 and two uses are possible."""
        if self.min_hours_between <= 0:
            return np.zeros(self.num_videos, bool)
        pinned = np.zeros(self.num_videos, bool)
        pinned[self.pin_video] = True
        return (self.video_capacity >= 2) | (pinned & (self.video_capacity >= 1))

    @property
    def spacing_seconds(self) -> int:
        """min_hours_between in seconds."""
        return int(self.min_hours_between) * 3600
