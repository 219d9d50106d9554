"""Vectorised candidate generation: every eligible (video, channel) pair and its score.

`VideoTable.from_videos` turns the backlog into numpy columns once; `build_candidates` then
evaluates one boolean mask per channel over those columns, which replaces 50M scalar filter
checks (100k videos x 500 channels) by about 20 array operations per channel. The result is
exactly what `filters.check` and `scoring.score` give pair by pair: both paths read the same
`filters.compile_rules` and `scoring.milli_tag_weights`, compare floats against integer
thresholds exactly, and compute log2 buckets with integer lookup tables.

Tag membership is a scipy.sparse CSR matrix (videos x tags) rather than packed bitsets: a video
carries a handful of tags out of a vocabulary that can reach tens of thousands, so CSR costs a
few bytes per (video, tag) where bitsets cost vocabulary/8 bytes per video, and a channel's tag
filters only touch the few columns its tags name (through the CSC transpose, a posting list
per tag) instead of every word of every video.

Video state, availability windows and channel availability are deliberately not applied here:
the server skips those with explicit reasons, and the optimiser reads the window columns.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache

import numpy as np
import numpy.typing as npt
from scipy import sparse

from allocator.domain import Channel, Orientation, Transformation, Video, VideoState
from allocator.filters import ChannelRules, check, compile_rules, normalise_tags, primary_language
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

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Codes of `VideoTable.state`: the index of the state in this tuple.
VIDEO_STATES: tuple[VideoState, ...] = (VideoState.READY, VideoState.NOT_READY, VideoState.RETIRED)
# `window_start` / `window_end` for a video without `available_from` / `expires_at`.
NO_START = int(np.iinfo(np.int64).min)
NO_END = int(np.iinfo(np.int64).max)
# Frame sides are bounded so that `side * 9` can never overflow int64.
_MAX_SIDE = 2**31 - 1
_FLOAT_MAX = sys.float_info.max
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORIENTATION_CODES = {Orientation.VERTICAL: 0, Orientation.HORIZONTAL: 1, Orientation.SQUARE: 2}


class InvalidVideoField(ValueError):
    """A video attribute the vectorised columns cannot hold exactly (out of range, naive time)."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}: {reason} (got {value!r})")
        self.field = field
        self.value = value


@dataclass(frozen=True, eq=False)
class VideoTable:
    """The backlog as numpy columns, row i describing `ids[i]`.

    `language` holds ids into `language_ids` (the primary subtag; -1 for no language), `source`
    ids into `source_ids` (-1 for an empty URL, which never duplicates anything), `state` codes
    into `VIDEO_STATES`. `window_start` / `window_end` are the availability window as int64
    epoch seconds, both rounded up to whole seconds (exact for slot instants on whole seconds:
    a slot t is inside iff window_start <= t < window_end), with NO_START / NO_END when open.
    `tags` is a CSR matrix (videos x tags, column j is tag `tag_names[j]`), see module docstring.
    """

    ids: tuple[str, ...]
    duration: npt.NDArray[np.float64]
    width: Int64Array
    height: Int64Array
    views: Int64Array
    watermarked: BoolArray
    language: Int32Array
    language_ids: dict[str, int]
    source: Int32Array
    source_ids: dict[str, int]
    state: npt.NDArray[np.int8]
    window_start: Int64Array
    window_end: Int64Array
    tags: sparse.csr_array
    tag_ids: dict[str, int]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_videos(cls, videos: Sequence[Video]) -> VideoTable:
        """Build the columns for `videos` (one pass in Python, then numpy)."""
        language_ids: dict[str, int] = {}
        source_ids: dict[str, int] = {}
        tag_ids: dict[str, int] = {}
        tag_indptr = [0]
        tag_indices: list[int] = []
        languages: list[int] = []
        sources: list[int] = []
        for video in videos:
            language = primary_language(video.language)
            languages.append(
                language_ids.setdefault(language, len(language_ids)) if language else -1
            )
            url = video.source_url
            sources.append(source_ids.setdefault(url, len(source_ids)) if url else -1)
            # Ids in sorted tag order keep the vocabulary independent of string hashing, and
            # sorted rows keep the CSR canonical.
            ids = [
                tag_ids.setdefault(tag, len(tag_ids)) for tag in sorted(normalise_tags(video.tags))
            ]
            row = sorted(ids)
            tag_indices.extend(row)
            tag_indptr.append(len(tag_indices))

        count = len(videos)
        tags = sparse.csr_array(
            (
                np.ones(len(tag_indices), dtype=np.bool_),
                np.asarray(tag_indices, dtype=np.int32),
                np.asarray(tag_indptr, dtype=np.int64),
            ),
            shape=(count, len(tag_ids)),
        )
        return cls(
            ids=tuple(video.id for video in videos),
            duration=np.fromiter((v.duration_seconds for v in videos), np.float64, count),
            width=_side_column(videos, "width"),
            height=_side_column(videos, "height"),
            views=_views_column(videos),
            watermarked=np.fromiter((v.watermarked for v in videos), np.bool_, count),
            language=np.asarray(languages, dtype=np.int32),
            language_ids=language_ids,
            source=np.asarray(sources, dtype=np.int32),
            source_ids=source_ids,
            state=np.fromiter((VIDEO_STATES.index(v.state) for v in videos), np.int8, count),
            window_start=np.fromiter(
                (
                    _epoch_ceil(v.available_from, NO_START, i, "available_from")
                    for i, v in enumerate(videos)
                ),
                np.int64,
                count,
            ),
            window_end=np.fromiter(
                (_epoch_ceil(v.expires_at, NO_END, i, "expires_at") for i, v in enumerate(videos)),
                np.int64,
                count,
            ),
            tags=tags,
            tag_ids=tag_ids,
        )

    @cached_property
    def _postings(self) -> sparse.csc_array:
        """The tag matrix by column: the videos carrying each tag, as one slice per tag."""
        return self.tags.tocsc()

    def videos_with_tag(self, tag_id: int) -> Int32Array:
        """Row indices of the videos that carry tag `tag_id`, ascending."""
        postings = self._postings
        indices: Int32Array = postings.indices[
            postings.indptr[tag_id] : postings.indptr[tag_id + 1]
        ]
        return indices

    @cached_property
    def _orientation(self) -> npt.NDArray[np.int8]:
        """`_ORIENTATION_CODES` of each video's own frame."""
        codes = np.full(len(self), _ORIENTATION_CODES[Orientation.SQUARE], dtype=np.int8)
        codes[self.height > self.width] = _ORIENTATION_CODES[Orientation.VERTICAL]
        codes[self.width > self.height] = _ORIENTATION_CODES[Orientation.HORIZONTAL]
        return codes

    def _crop(self, orientation: Orientation) -> tuple[Int64Array, Int64Array, BoolArray]:
        """(width, height, possible) after cropping to `orientation`, as `filters.cropped_frame`."""
        cache: dict[Orientation, tuple[Int64Array, Int64Array, BoolArray]] = self._crops
        if orientation not in cache:
            width, height = self.width, self.height
            if orientation is Orientation.VERTICAL:
                new_width = height * 9 // 16
                cache[orientation] = (new_width, height, (new_width >= 1) & (width >= height))
            elif orientation is Orientation.HORIZONTAL:
                new_height = width * 9 // 16
                cache[orientation] = (width, new_height, (new_height >= 1) & (height >= width))
            else:
                side = np.minimum(width, height)
                cache[orientation] = (side, side, (side >= 1) & (width != height))
        return cache[orientation]

    @cached_property
    def _crops(self) -> dict[Orientation, tuple[Int64Array, Int64Array, BoolArray]]:
        return {}


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


def _side_column(videos: Sequence[Video], name: str) -> Int64Array:
    """A frame side column; rejects values whose crop arithmetic could overflow."""
    values = [getattr(video, name) for video in videos]
    for index, value in enumerate(values):
        if not -_MAX_SIDE <= value <= _MAX_SIDE:
            raise InvalidVideoField(f"videos[{index}].{name}", value, "outside int32")
    return np.asarray(values, dtype=np.int64)


def _views_column(videos: Sequence[Video]) -> Int64Array:
    """The views column; rejects counts outside int64."""
    low, high = NO_START, NO_END
    for index, video in enumerate(videos):
        if not low <= video.views <= high:
            raise InvalidVideoField(f"videos[{index}].views", video.views, "outside int64")
    return np.fromiter((video.views for video in videos), np.int64, len(videos))


def _epoch_ceil(moment: datetime | None, default: int, index: int, name: str) -> int:
    """`moment` as epoch seconds rounded up, or `default` when absent."""
    if moment is None:
        return default
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidVideoField(f"videos[{index}].{name}", moment, "must be timezone-aware")
    delta = moment - _EPOCH
    return delta.days * 86_400 + delta.seconds + (1 if delta.microseconds else 0)
