"""The backlog as numpy columns: `VideoTable`, built once per run from the domain videos.

`VideoTable.from_videos` makes one pass over the videos in Python and stores every attribute
the filters and scores read as a numpy column; `allocator.candidates` then evaluates each
channel's rules over these columns. Values the columns cannot hold exactly (frame sides outside
int32, views outside int64, naive datetimes) raise `InvalidVideoField`.

Tag membership is a scipy.sparse CSR matrix (videos x tags) rather than packed bitsets: a video
carries a handful of tags out of a vocabulary that can reach tens of thousands, so CSR costs a
few bytes per (video, tag) where bitsets cost vocabulary/8 bytes per video, and a channel's tag
filters only touch the few columns its tags name (through the CSC transpose, a posting list
per tag) instead of every word of every video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import sparse

from allocator.domain import Orientation, Video, VideoState
from allocator.filters import normalise_tags, primary_language

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
