"""Content filters: may a video be distributed on a channel, and with which transformations?

A channel's filters (`ContentFilters`) say what it accepts; its transformations say what its
downstream transformer can change. A filter that one of those transformations can satisfy does
not reject the video; the `Match` then lists the transformations the video needs there:

- `max_duration_seconds`: a TRIM cuts the video to the trim's length (or to the maximum when the
  trim has no length of its own). A trim longer than the maximum, or shorter than
  `min_duration_seconds`, cannot satisfy the filter. Trimming never fixes `min_duration_seconds`.
- `orientation`: a CROP to that orientation (or a CROP with UNSPECIFIED orientation, which can
  crop to anything) fixes it, and `min_width`/`min_height` are then checked on the cropped frame.
- `languages`: BURN_CAPTIONS in one of the channel's languages fixes it.

Nothing else is fixable (there is no upscaling). Zero or empty filter fields mean no constraint.
Tags compare lower-cased and stripped; languages compare lower-cased on the primary subtag, so
"en-US" matches "en".

`compile_rules` turns a channel into the normalised `ChannelRules` that both `check` (one pair)
and `allocator.candidates` (vectorised) evaluate, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from allocator.domain import (
    Channel,
    ContentFilters,
    Orientation,
    Transformation,
    TransformationKind,
    Video,
)

# The API names of the filters, in the order `Match.failed_filters` reports them.
FILTER_NAMES: tuple[str, ...] = (
    "min_duration_seconds",
    "max_duration_seconds",
    "min_height",
    "min_width",
    "orientation",
    "min_views",
    "required_tags",
    "any_tags",
    "exclude_tags",
    "exclude_watermarked",
    "languages",
)


@dataclass(frozen=True)
class Match:
    """The verdict for one (video, channel) pair.

    `failed_filters` names every filter the video fails (API field names, in `FILTER_NAMES`
    order). `transformations` lists what the video needs on this channel, in the order TRIM,
    CROP, BURN_CAPTIONS; for an ineligible pair it lists the transformations that would fix the
    filters they fix, which is informative for an audit but not a plan.
    """

    eligible: bool
    failed_filters: tuple[str, ...]
    transformations: tuple[Transformation, ...]


@dataclass(frozen=True)
class ChannelRules:
    """A channel's filters normalised for evaluation, with its fixing transformations resolved.

    `trim` is the TRIM a too-long video needs (None: the channel cannot fix max duration), `crop`
    the CROP an orientation mismatch needs (None: cannot fix), `captions` the BURN_CAPTIONS a
    language mismatch needs (None: cannot fix).
    """

    min_duration_seconds: int
    max_duration_seconds: int
    min_height: int
    min_width: int
    orientation: Orientation
    min_views: int
    required_tags: frozenset[str]
    any_tags: frozenset[str]
    exclude_tags: frozenset[str]
    exclude_watermarked: bool
    languages: frozenset[str]
    trim: Transformation | None
    crop: Transformation | None
    captions: Transformation | None


def normalise_tag(tag: str) -> str:
    """The comparable form of a tag: stripped and lower-cased ("" means no tag)."""
    return tag.strip().lower()


def normalise_tags(tags: tuple[str, ...] | list[str]) -> frozenset[str]:
    """The set of comparable tags, without blanks (a blank tag constrains nothing)."""
    if isinstance(tags, tuple):
        # Explain and SuggestPlacements score one video against hundreds of channels.
        return _normalised(tags)
    return frozenset(t for t in (normalise_tag(tag) for tag in tags) if t)


@lru_cache(maxsize=4096)
def _normalised(tags: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t for t in (normalise_tag(tag) for tag in tags) if t)


def primary_language(language: str) -> str:
    """The lower-cased primary subtag of a language tag: "en-US" and "EN_gb" give "en"."""
    return language.strip().lower().replace("_", "-").split("-", 1)[0]


def cropped_frame(width: int, height: int, orientation: Orientation) -> tuple[int, int] | None:
    """The (width, height) after cropping to `orientation`, or None when no such crop exists.

    VERTICAL is 9:16 (width = floor(height * 9 / 16)), HORIZONTAL is 16:9 (height =
    floor(width * 9 / 16)), SQUARE keeps min(width, height) on both sides. A crop must leave a
    non-empty frame of the target orientation; integer arithmetic keeps it exact and identical
    to the vectorised path.
    """
    if orientation is Orientation.VERTICAL:
        new_width = height * 9 // 16
        return (new_width, height) if new_width >= 1 and width >= height else None
    if orientation is Orientation.HORIZONTAL:
        new_height = width * 9 // 16
        return (width, new_height) if new_height >= 1 and height >= width else None
    if orientation is Orientation.SQUARE:
        side = min(width, height)
        return (side, side) if side >= 1 and width != height else None
    return None


def published_frame(video: Video, transformations: tuple[Transformation, ...]) -> tuple[int, int]:
    """The (width, height) the channel publishes once `transformations` are applied."""
    for transformation in transformations:
        if transformation.kind is TransformationKind.CROP:
            frame = cropped_frame(video.width, video.height, transformation.orientation)
            if frame is not None:
                return frame
    return video.width, video.height


def compile_rules(channel: Channel) -> ChannelRules:
    """Normalise a channel's filters and pick the transformations that can fix them."""
    # Keyed on the two parts the rules depend on: hashing the whole channel (its schedule
    # too) cost more than the evaluation it saved.
    key = (channel.filters, channel.transformations)
    try:
        hash(key)
    except TypeError:  # a list where the domain type says tuple: correct, just not cacheable
        return _compile_rules(*key)
    return _cached_rules(*key)


@lru_cache(maxsize=4096)
def _cached_rules(
    filters: ContentFilters, transformations: tuple[Transformation, ...]
) -> ChannelRules:
    return _compile_rules(filters, transformations)


def _compile_rules(
    filters: ContentFilters, transformations: tuple[Transformation, ...]
) -> ChannelRules:
    languages = frozenset(p for p in (primary_language(lang) for lang in filters.languages) if p)
    return ChannelRules(
        min_duration_seconds=filters.min_duration_seconds,
        max_duration_seconds=filters.max_duration_seconds,
        min_height=filters.min_height,
        min_width=filters.min_width,
        orientation=filters.orientation,
        min_views=filters.min_views,
        required_tags=normalise_tags(filters.required_tags),
        any_tags=normalise_tags(filters.any_tags),
        exclude_tags=normalise_tags(filters.exclude_tags),
        exclude_watermarked=filters.exclude_watermarked,
        languages=languages,
        trim=_fixing_trim(filters, transformations),
        crop=_fixing_crop(filters, transformations),
        captions=_fixing_captions(transformations, languages),
    )


def _fixing_trim(
    filters: ContentFilters, transformations: tuple[Transformation, ...]
) -> Transformation | None:
    """The TRIM that brings a too-long video within max duration, keeping as much as possible."""
    maximum = filters.max_duration_seconds
    minimum = filters.min_duration_seconds
    if maximum <= 0:
        return None
    best = 0
    for transformation in transformations:
        if transformation.kind is not TransformationKind.TRIM:
            continue
        # A trim without a length of its own cuts to whatever the filter allows.
        length = transformation.trim_seconds if transformation.trim_seconds > 0 else maximum
        # A trim shorter than the minimum would trade one failed filter for another.
        if length <= maximum and length >= minimum:
            best = max(best, length)
    return Transformation(TransformationKind.TRIM, trim_seconds=best) if best > 0 else None


def _fixing_crop(
    filters: ContentFilters, transformations: tuple[Transformation, ...]
) -> Transformation | None:
    """The CROP to the filter's orientation, if the channel can crop to it."""
    target = filters.orientation
    if target is Orientation.UNSPECIFIED:
        return None
    for transformation in transformations:
        if transformation.kind is TransformationKind.CROP and transformation.orientation in (
            target,
            Orientation.UNSPECIFIED,
        ):
            return Transformation(TransformationKind.CROP, orientation=target)
    return None


def _fixing_captions(
    transformations: tuple[Transformation, ...], languages: frozenset[str]
) -> Transformation | None:
    """The first BURN_CAPTIONS (channel order) whose language the channel accepts."""
    for transformation in transformations:
        if (
            transformation.kind is TransformationKind.BURN_CAPTIONS
            and primary_language(transformation.language) in languages
        ):
            return Transformation(
                TransformationKind.BURN_CAPTIONS, language=transformation.language
            )
    return None


def check(video: Video, channel: Channel) -> Match:
    """Evaluate every content filter of `channel` on `video`, transformations included."""
    return evaluate(video, compile_rules(channel))


def evaluate(video: Video, rules: ChannelRules) -> Match:
    """Evaluate compiled channel rules on one video (see `check`)."""
    failed: list[str] = []
    needed: list[Transformation] = []

    if rules.min_duration_seconds > 0 and video.duration_seconds < rules.min_duration_seconds:
        failed.append("min_duration_seconds")
    if rules.max_duration_seconds > 0 and video.duration_seconds > rules.max_duration_seconds:
        if rules.trim is None:
            failed.append("max_duration_seconds")
        else:
            needed.append(rules.trim)

    # The orientation decides the frame the resolution filters are checked on.
    width, height = video.width, video.height
    orientation_ok = True
    if rules.orientation is not Orientation.UNSPECIFIED and video.orientation != rules.orientation:
        frame = cropped_frame(width, height, rules.orientation)
        if rules.crop is not None and frame is not None:
            needed.append(rules.crop)
            width, height = frame
        else:
            orientation_ok = False
    if rules.min_height > 0 and height < rules.min_height:
        failed.append("min_height")
    if rules.min_width > 0 and width < rules.min_width:
        failed.append("min_width")
    if not orientation_ok:
        failed.append("orientation")

    if rules.min_views > 0 and video.views < rules.min_views:
        failed.append("min_views")
    failed.extend(_tag_failures(normalise_tags(video.tags), rules))
    if rules.exclude_watermarked and video.watermarked:
        failed.append("exclude_watermarked")
    if rules.languages and primary_language(video.language) not in rules.languages:
        if rules.captions is None:
            failed.append("languages")
        else:
            needed.append(rules.captions)

    return Match(eligible=not failed, failed_filters=tuple(failed), transformations=tuple(needed))


def _tag_failures(tags: frozenset[str], rules: ChannelRules) -> list[str]:
    """The tag filters a video with normalised `tags` fails."""
    failed: list[str] = []
    if not rules.required_tags <= tags:
        failed.append("required_tags")
    if rules.any_tags and rules.any_tags.isdisjoint(tags):
        failed.append("any_tags")
    if not rules.exclude_tags.isdisjoint(tags):
        failed.append("exclude_tags")
    return failed
