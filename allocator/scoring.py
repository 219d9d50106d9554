"""The match score: how much a channel wants a video, as the integer the optimiser maximises.

    total = max(0, BASE + tags + priority + views_headroom + resolution_headroom - penalty)

- BASE = 10_000: every eligible pair scores above zero unless the channel's own negative tag
  weights pull it down, so maximising the score also prefers assigning over leaving a slot empty.
- tags: the sum of the channel's tag weights over the video's distinct tags (both compared
  lower-cased and stripped). Each API weight (a float) is converted once to integer milli-units,
  `round(clamp(w, -1000, 1000) * 1000)` (round half to even), so weight 1.0 is worth 1_000
  points; the sum is clamped to [-1_000_000, 1_000_000]. When a channel lists a tag twice (after
  normalisation) the later weight wins.
- priority: 100 points per unit of channel priority, priority clamped to [0, 100].
- views_headroom: 100 points per doubling of views over `min_views` (floor(log2(views /
  min_views)), at most 10 doublings); 0 when the channel sets no minimum.
- resolution_headroom: 100 points per doubling of the published height over `min_height` and of
  the published width over `min_width` (at most 4 doublings each; the published frame is the
  cropped one when a CROP is needed); 0 for a side without a minimum.
- penalty: 500 points per transformation the video needs on the channel (trim, crop, captions):
  an untouched video is preferred when everything else is equal.

Every total lies in [0, 1_021_800], far inside int64, which keeps CP-SAT and min-cost flow fast.
The score is computed for any pair but is only meaningful for eligible ones.
`allocator.candidates` computes the same numbers vectorised; both take their tag weights from
`milli_tag_weights`, so the two paths agree bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache

from allocator.domain import Channel, Preferences, Video
from allocator.filters import (
    ChannelRules,
    Match,
    check,
    normalise_tag,
    normalise_tags,
    published_frame,
)

BASE = 10_000
MILLI = 1_000
MAX_ABS_TAG_WEIGHT = 1_000.0
TAG_PART_LIMIT = 1_000_000
PRIORITY_WEIGHT = 100
MAX_PRIORITY = 100
VIEWS_STEP = 100
VIEWS_MAX_DOUBLINGS = 10
RESOLUTION_STEP = 100
RESOLUTION_MAX_DOUBLINGS = 4
TRANSFORMATION_PENALTY = 500


class InvalidTagWeight(ValueError):
    """A tag weight that is not a number (NaN): it cannot be ranked against anything."""

    def __init__(self, field: str, value: float) -> None:
        super().__init__(f"{field}: tag weight must be a number, got {value!r}")
        self.field = field
        self.value = value


@dataclass(frozen=True)
class ScoreBreakdown:
    """The parts of a match score (see the module docstring); `total` is what is maximised."""

    base: int
    tags: int
    priority: int
    views_headroom: int
    resolution_headroom: int
    transformation_penalty: int
    total: int

    def as_dict(self) -> dict[str, int]:
        """The parts as a plain dict, for audit logs and decision reasons."""
        return asdict(self)


def milli_tag_weights(preferences: Preferences) -> dict[str, int]:
    """A channel's tag weights as normalised tag -> integer milli-units (later duplicates win).

    Callers must not mutate the returned dict: it is cached per `Preferences`.
    """
    try:
        hash(preferences)
    except TypeError:  # a list where the domain type says tuple: correct, just not cacheable
        return _milli_tag_weights(preferences)
    return _cached_weights(preferences)


@lru_cache(maxsize=4096)
def _cached_weights(preferences: Preferences) -> dict[str, int]:
    return _milli_tag_weights(preferences)


def _milli_tag_weights(preferences: Preferences) -> dict[str, int]:
    weights: dict[str, int] = {}
    for index, (tag, weight) in enumerate(preferences.tag_weights):
        if math.isnan(weight):
            raise InvalidTagWeight(f"preferences.tag_weights[{index}]", weight)
        key = normalise_tag(tag)
        if key:
            clamped = min(max(float(weight), -MAX_ABS_TAG_WEIGHT), MAX_ABS_TAG_WEIGHT)
            weights[key] = round(clamped * MILLI)
    return weights


def clamp_tag_part(total: int) -> int:
    """The tag part clamped to [-TAG_PART_LIMIT, TAG_PART_LIMIT]."""
    return min(max(total, -TAG_PART_LIMIT), TAG_PART_LIMIT)


def priority_part(priority: int) -> int:
    """Points for a channel priority, clamped to [0, MAX_PRIORITY] first."""
    return PRIORITY_WEIGHT * min(max(priority, 0), MAX_PRIORITY)


def doublings(value: int, minimum: int, cap: int) -> int:
    """floor(log2(value / minimum)) capped at `cap`; 0 without a minimum or below it."""
    if minimum <= 0 or value < minimum:
        return 0
    # floor(log2(value / minimum)) == floor(log2(value // minimum)) for integers >= 1.
    return min(cap, (value // minimum).bit_length() - 1)


def score(video: Video, channel: Channel, match: Match | None = None) -> ScoreBreakdown:
    """The match score of `video` on `channel`; pass `match` when `check` already ran."""
    if match is None:
        match = check(video, channel)
    filters = channel.filters
    weights = milli_tag_weights(channel.preferences)
    tags = clamp_tag_part(sum(weights.get(tag, 0) for tag in normalise_tags(video.tags)))
    priority = priority_part(channel.preferences.priority)
    views = VIEWS_STEP * doublings(video.views, filters.min_views, VIEWS_MAX_DOUBLINGS)
    width, height = published_frame(video, match.transformations)
    resolution = RESOLUTION_STEP * (
        doublings(height, filters.min_height, RESOLUTION_MAX_DOUBLINGS)
        + doublings(width, filters.min_width, RESOLUTION_MAX_DOUBLINGS)
    )
    penalty = TRANSFORMATION_PENALTY * len(match.transformations)
    total = max(0, BASE + tags + priority + views + resolution - penalty)
    return ScoreBreakdown(
        base=BASE,
        tags=tags,
        priority=priority,
        views_headroom=views,
        resolution_headroom=resolution,
        transformation_penalty=penalty,
        total=total,
    )


def pair_total(
    video: Video,
    tags: frozenset[str],
    rules: ChannelRules,
    weights: Mapping[str, int],
    priority_points: int,
    match: Match,
) -> int:
    """`score(video, channel, match).total` from what a caller scoring one video on hundreds
    of channels works out once: the video's `normalise_tags`, and per channel its compiled
    `rules` (whose minima are its filters'), `milli_tag_weights` and `priority_part`."""
    tag_part = clamp_tag_part(sum(weights.get(tag, 0) for tag in tags))
    views = VIEWS_STEP * doublings(video.views, rules.min_views, VIEWS_MAX_DOUBLINGS)
    width, height = published_frame(video, match.transformations)
    resolution = RESOLUTION_STEP * (
        doublings(height, rules.min_height, RESOLUTION_MAX_DOUBLINGS)
        + doublings(width, rules.min_width, RESOLUTION_MAX_DOUBLINGS)
    )
    penalty = TRANSFORMATION_PENALTY * len(match.transformations)
    return max(0, BASE + tag_part + priority_points + views + resolution - penalty)
