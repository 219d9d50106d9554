"""Vectorised candidate generation: every eligible (video, channel) pair and its score.

`allocator.video_table.VideoTable` holds the backlog as numpy columns; `build_candidates` then
evaluates one boolean mask per channel over those columns, which replaces 50M scalar filter
checks (100k videos x 500 channels) by about 20 array operations per channel. The result is
exactly what `filters.check` and `scoring.score` give pair by pair: both paths read the same
`filters.compile_rules` and `scoring.milli_tag_weights`, compare floats against integer
thresholds exactly, and compute log2 buckets with integer lookup tables.

Video state, availability windows and channel availability are deliberately not applied here:
the server skips those with explicit reasons, and the optimiser reads the window columns.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from allocator.domain import Channel, Orientation, Transformation, Video
from allocator.filters import ChannelRules, check, compile_rules
from allocator.scoring import (
    BASE,
    RESOLUTION_MAX_DOUBLINGS,
    RESOLUTION_STEP,
    TAG_PART_LIMIT,
    TRANSFORMATION_PENALTY,
    VIEWS_MAX_DOUBLINGS,
    VIEWS_STEP,
    milli_tag_weights,
    priority_part,
)
from allocator.video_table import _ORIENTATION_CODES, VideoTable

# VideoTable lives in allocator.video_table; allocator.planning imports it from here too.
__all__ = ["Candidates", "VideoTable", "build_candidates"]

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_FLOAT_MAX = sys.float_info.max


@dataclass(frozen=True, eq=False)
class Candidates:
    """Every eligible pair as parallel arrays, sorted by (channel_idx, video_idx).

    Indices refer to the `VideoTable` rows and to the `channels` sequence given to
    `build_candidates`; the pairs of channel c are rows `channel_ptr[c]:channel_ptr[c + 1]`.
    """

    video_idx: Int32Array
    channel_idx: Int32Array
    score: Int64Array
    channel_ptr: Int64Array

    def __len__(self) -> int:
        return len(self.video_idx)

    def of_channel(self, channel: int) -> slice:
        """The rows holding the candidates of channel index `channel`."""
        return slice(int(self.channel_ptr[channel]), int(self.channel_ptr[channel + 1]))

    def transformations(
        self, row: int, videos: Sequence[Video], channels: Sequence[Channel]
    ) -> tuple[Transformation, ...]:
        """The transformations candidate `row` needs; `videos` are the table's videos in order."""
        video = videos[int(self.video_idx[row])]
        return check(video, channels[int(self.channel_idx[row])]).transformations


def build_candidates(table: VideoTable, channels: Sequence[Channel]) -> Candidates:
    """Every (video, channel) pair `filters.check` accepts, scored as `scoring.score` does."""
    video_parts: list[Int32Array] = []
    score_parts: list[Int64Array] = []
    ptr = np.zeros(len(channels) + 1, dtype=np.int64)
    for position, channel in enumerate(channels):
        rows, scores = _channel_candidates(table, channel)
        video_parts.append(rows.astype(np.int32))
        score_parts.append(scores)
        ptr[position + 1] = ptr[position] + len(rows)
    counts = np.diff(ptr)
    return Candidates(
        video_idx=np.concatenate(video_parts) if video_parts else np.zeros(0, np.int32),
        channel_idx=np.repeat(np.arange(len(channels), dtype=np.int32), counts),
        score=np.concatenate(score_parts) if score_parts else np.zeros(0, np.int64),
        channel_ptr=ptr,
    )


def _channel_candidates(table: VideoTable, channel: Channel) -> tuple[Int64Array, Int64Array]:
    """The eligible rows of one channel (ascending) and their scores."""
    rules = compile_rules(channel)
    eligible = np.ones(len(table), dtype=np.bool_)

    if rules.min_duration_seconds > 0:
        eligible &= ~(table.duration < _less_than_bound(rules.min_duration_seconds))
    too_long: BoolArray | None = None
    if rules.max_duration_seconds > 0:
        too_long = table.duration > _greater_than_bound(rules.max_duration_seconds)
        if rules.trim is None:
            eligible &= ~too_long
            too_long = None

    width, height = table.width, table.height
    cropped: BoolArray | None = None
    if rules.orientation is not Orientation.UNSPECIFIED:
        mismatch = table._orientation != _ORIENTATION_CODES[rules.orientation]
        crop_width, crop_height, possible = table._crop(rules.orientation)
        if rules.crop is None:
            eligible &= ~mismatch
        else:
            cropped = mismatch & possible
            eligible &= ~(mismatch & ~possible)
            width = np.where(cropped, crop_width, width)
            height = np.where(cropped, crop_height, height)
    if rules.min_height > 0:
        eligible &= height >= rules.min_height
    if rules.min_width > 0:
        eligible &= width >= rules.min_width
    if rules.min_views > 0:
        eligible &= table.views >= rules.min_views
    _apply_tag_filters(table, rules, eligible)
    if rules.exclude_watermarked:
        eligible &= ~table.watermarked

    captioned: BoolArray | None = None
    if rules.languages:
        speaks = _speaks(table, rules.languages)
        if rules.captions is None:
            eligible &= speaks
        else:
            captioned = ~speaks

    rows = np.flatnonzero(eligible)
    transformations = np.zeros(len(rows), dtype=np.int64)
    for needed in (too_long, cropped, captioned):
        if needed is not None:
            transformations += needed[rows]
    total = (
        BASE
        + priority_part(channel.preferences.priority)
        + _tag_part(table, channel, rows)
        + VIEWS_STEP * _doublings(table.views[rows], rules.min_views, VIEWS_MAX_DOUBLINGS)
        + RESOLUTION_STEP
        * (
            _doublings(height[rows], rules.min_height, RESOLUTION_MAX_DOUBLINGS)
            + _doublings(width[rows], rules.min_width, RESOLUTION_MAX_DOUBLINGS)
        )
        - TRANSFORMATION_PENALTY * transformations
    )
    return rows, np.maximum(total, 0).astype(np.int64, copy=False)


def _apply_tag_filters(table: VideoTable, rules: ChannelRules, eligible: BoolArray) -> None:
    """Clear `eligible` for the videos failing the required, any and exclude tag filters."""
    for tag in rules.required_tags:
        tag_id = table.tag_ids.get(tag)
        if tag_id is None:
            eligible[:] = False  # no video carries it
            return
        carries = np.zeros(len(table), dtype=np.bool_)
        carries[table.videos_with_tag(tag_id)] = True
        eligible &= carries
    if rules.any_tags:
        carries_any = np.zeros(len(table), dtype=np.bool_)
        for tag in rules.any_tags:
            tag_id = table.tag_ids.get(tag)
            if tag_id is not None:
                carries_any[table.videos_with_tag(tag_id)] = True
        eligible &= carries_any
    for tag in rules.exclude_tags:
        tag_id = table.tag_ids.get(tag)
        if tag_id is not None:
            eligible[table.videos_with_tag(tag_id)] = False


def _speaks(table: VideoTable, languages: frozenset[str]) -> BoolArray:
    """Whether each video's primary language is one of `languages`."""
    ids = [table.language_ids[lang] for lang in languages if lang in table.language_ids]
    if not ids:
        return np.zeros(len(table), dtype=np.bool_)
    return np.isin(table.language, np.asarray(ids, dtype=np.int32))


def _tag_part(table: VideoTable, channel: Channel, rows: Int64Array) -> Int64Array:
    """The clamped tag part of the score for `rows`."""
    weights = milli_tag_weights(channel.preferences)
    totals = np.zeros(len(table), dtype=np.int64)
    for tag, weight in weights.items():
        tag_id = table.tag_ids.get(tag)
        if tag_id is not None and weight:
            # A video appears at most once in a posting list, so += adds each weight once.
            totals[table.videos_with_tag(tag_id)] += weight
    part: Int64Array = np.clip(totals[rows], -TAG_PART_LIMIT, TAG_PART_LIMIT)
    return part


def _doublings(values: Int64Array, minimum: int, cap: int) -> Int64Array:
    """Vectorised `scoring.doublings`, through an integer lookup table (exact, no log2)."""
    if minimum <= 0 or len(values) == 0:
        return np.zeros(len(values), dtype=np.int64)
    quotient = np.clip(values // minimum, 0, 2**cap)
    return _doubling_table(cap)[quotient]


@lru_cache(maxsize=8)
def _doubling_table(cap: int) -> Int64Array:
    """table[q] = min(cap, floor(log2(q))) for 1 <= q <= 2**cap, and 0 for q = 0."""
    table = np.zeros(2**cap + 1, dtype=np.int64)
    for q in range(1, 2**cap + 1):
        table[q] = min(cap, q.bit_length() - 1)
    return table


def _greater_than_bound(limit: int) -> float:
    """The float t with `d > t` exactly when `d > limit`, for every float d (Python semantics)."""
    try:
        nearest = float(limit)
    except OverflowError:
        return -math.inf if limit < 0 else _FLOAT_MAX
    if nearest > limit:
        return math.nextafter(nearest, -math.inf)
    return nearest


def _less_than_bound(limit: int) -> float:
    """The float t with `d < t` exactly when `d < limit`, for every float d (Python semantics)."""
    try:
        nearest = float(limit)
    except OverflowError:
        return math.inf if limit > 0 else -_FLOAT_MAX
    if nearest < limit:
        return math.nextafter(nearest, math.inf)
    return nearest
