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

`DualCertificate` holds non-negative integer duals for those rows (scaled by `denominator`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

OPEN_START = np.iinfo(np.int64).min
"""`video_window_start` of a video available since forever."""
OPEN_END = np.iinfo(np.int64).max
"""`video_window_end` of a video that never expires."""

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


class Mode(enum.Enum):
    """FILTER maximises total score; SCHEDULE fills most slots first, then maximises score."""

    FILTER = "FILTER"
    SCHEDULE = "SCHEDULE"


class SolverStatus(enum.Enum):
    """OPTIMAL only when a certified bound equals the objective; FEASIBLE when a gap remains."""

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNKNOWN = "UNKNOWN"


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
        ]
        for name, dtype in specs:
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype, name))
        if not isinstance(self.mode, Mode):
            raise ProblemError("mode", self.mode, "must be a Mode")
        self._check_sizes()
        self._check_ranges()

    def _check_sizes(self) -> None:
        e, v, s, p = (
            len(self.cand_video),
            len(self.video_capacity),
            len(self.slot_channel),
            len(self.pin_video),
        )
        for name, n, want in [
            ("cand_channel", len(self.cand_channel), e),
            ("cand_score", len(self.cand_score), e),
            ("video_source", len(self.video_source), v),
            ("video_window_start", len(self.video_window_start), v),
            ("video_window_end", len(self.video_window_end), v),
            ("slot_time", len(self.slot_time), s),
            ("slot_day", len(self.slot_day), s),
            ("pin_channel", len(self.pin_channel), p),
            ("pin_time", len(self.pin_time), p),
        ]:
            if n != want:
                raise ProblemError(name, n, f"length must be {want}")
        if self.num_channels < 0 or self.num_channels >= 1 << 22:
            raise ProblemError("num_channels", self.num_channels, "must be in [0, 2**22)")
        if self.min_hours_between < 0:
            raise ProblemError("min_hours_between", self.min_hours_between, "must be >= 0")
        if not self.time_limit_seconds > 0:
            raise ProblemError("time_limit_seconds", self.time_limit_seconds, "must be > 0")
        if self.num_workers < 1:
            raise ProblemError("num_workers", self.num_workers, "must be >= 1")

    def _check_ranges(self) -> None:
        v, c = self.num_videos, self.num_channels
        for name, arr, hi in [
            ("cand_video", self.cand_video, v),
            ("cand_channel", self.cand_channel, c),
            ("slot_channel", self.slot_channel, c),
            ("pin_video", self.pin_video, v),
            ("pin_channel", self.pin_channel, c),
        ]:
            if len(arr) and (int(arr.min()) < 0 or int(arr.max()) >= hi):
                bad = arr[(arr < 0) | (arr >= hi)][0]
                raise ProblemError(name, int(bad), f"must index [0, {hi})")
        if len(self.video_capacity) and int(self.video_capacity.min()) < 0:
            raise ProblemError("video_capacity", int(self.video_capacity.min()), "must be >= 0")
        if np.any(self.video_window_start > self.video_window_end):
            i = int(np.argmax(self.video_window_start > self.video_window_end))
            raise ProblemError("video_window_start", i, "window starts after it ends")
        if len(self.cand_score) and int(np.abs(self.cand_score).max()) >= 1 << 30:
            raise ProblemError("cand_score", int(np.abs(self.cand_score).max()), "|score| < 2**30")
        if len(self.slot_time):
            span = int(self.slot_time.max()) - int(self.slot_time.min())
            if span >= 1 << (_TIME_BITS - 1):
                raise ProblemError("slot_time", span, "horizon too long")
            key = self.slot_key
            if np.any(np.diff(key) <= 0):
                i = int(np.argmax(np.diff(key) <= 0)) + 1
                raise ProblemError(
                    "slot_time", i, "slots must be sorted by (channel, time), unique"
                )
            same_channel = np.diff(self.slot_channel) == 0
            if np.any(same_channel & (np.diff(self.slot_day) < 0)):
                raise ProblemError("slot_day", "", "days must not decrease within a channel")
        if len(self.cand_video):
            pair = self.cand_video.astype(np.int64) * max(c, 1) + self.cand_channel
            ordered = np.sort(pair)
            dup = np.flatnonzero(ordered[1:] == ordered[:-1])
            if len(dup):
                vid, ch = divmod(int(ordered[dup[0]]), max(c, 1))
                raise ProblemError("cand_video", (vid, ch), "duplicate (video, channel) candidate")

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
        new = np.ones(len(self.slot_channel), bool)
        new[1:] = (np.diff(self.slot_channel) != 0) | (np.diff(self.slot_day) != 0)
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
