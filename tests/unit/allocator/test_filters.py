"""Content filters: every filter, the order of failures, and the transformation rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from allocator.domain import (
    Channel,
    ContentFilters,
    Orientation,
    Transformation,
    TransformationKind,
    Video,
)
from allocator.filters import (
    FILTER_NAMES,
    Match,
    check,
    cropped_frame,
    normalise_tags,
    primary_language,
)

TRIM = TransformationKind.TRIM
CROP = TransformationKind.CROP
CAPTIONS = TransformationKind.BURN_CAPTIONS

HD = Video(
    id="v",
    duration_seconds=120.0,
    width=1920,
    height=1080,
    views=5_000,
    tags=("Cooking", " pasta "),
    language="en-US",
)


def channel(transformations: tuple[Transformation, ...] = (), **filters: object) -> Channel:
    return Channel(
        id="c",
        filters=ContentFilters(**filters),  # type: ignore[arg-type]
        transformations=transformations,
    )


def test_no_filters_accept_everything() -> None:
    assert check(HD, channel()) == Match(True, (), ())
    assert check(Video(id="empty"), channel()).eligible


@pytest.mark.parametrize(
    ("filters", "failed"),
    [
        ({"min_duration_seconds": 121}, "min_duration_seconds"),
        ({"max_duration_seconds": 119}, "max_duration_seconds"),
        ({"min_height": 1081}, "min_height"),
        ({"min_width": 1921}, "min_width"),
        ({"orientation": Orientation.VERTICAL}, "orientation"),
        ({"orientation": Orientation.SQUARE}, "orientation"),
        ({"min_views": 5_001}, "min_views"),
        ({"required_tags": ("cooking", "baking")}, "required_tags"),
        ({"any_tags": ("baking", "grilling")}, "any_tags"),
        ({"exclude_tags": ("PASTA",)}, "exclude_tags"),
        ({"languages": ("de", "fr")}, "languages"),
    ],
)
def test_each_filter_rejects(filters: dict[str, object], failed: str) -> None:
    assert check(HD, channel(**filters)) == Match(False, (failed,), ())


@pytest.mark.parametrize(
    "filters",
    [
        {"min_duration_seconds": 120},
        {"max_duration_seconds": 120},
        {"min_height": 1080, "min_width": 1920},
        {"orientation": Orientation.HORIZONTAL},
        {"min_views": 5_000},
        {"required_tags": ("COOKING", "Pasta")},
        {"any_tags": ("baking", " cooking")},
        {"exclude_tags": ("baking",)},
        {"exclude_watermarked": True},
        {"languages": ("EN",)},
        {"languages": ("en-GB",)},
    ],
)
def test_each_filter_accepts_at_its_bound(filters: dict[str, object]) -> None:
    assert check(HD, channel(**filters)).eligible


def test_watermark_filter() -> None:
    marked = replace(HD, watermarked=True)
    assert check(marked, channel(exclude_watermarked=True)).failed_filters == (
        "exclude_watermarked",
    )
    assert check(marked, channel()).eligible


def test_every_failure_is_reported_in_api_order() -> None:
    video = Video(
        id="bad", duration_seconds=5, width=10, height=20, views=1, tags=("x",), watermarked=True
    )
    everything = channel(
        min_duration_seconds=10,
        min_height=100,
        min_width=100,
        orientation=Orientation.HORIZONTAL,
        min_views=10,
        required_tags=("a",),
        any_tags=("b",),
        exclude_tags=("x",),
        exclude_watermarked=True,
        languages=("en",),
    )
    expected = tuple(name for name in FILTER_NAMES if name != "max_duration_seconds")
    assert check(video, everything).failed_filters == expected
    too_long = replace(video, duration_seconds=50)
    assert (
        "max_duration_seconds" in check(too_long, channel(max_duration_seconds=10)).failed_filters
    )


def test_tags_and_languages_are_normalised() -> None:
    assert normalise_tags(("  Foo", "FOO", "", "  ", "bar")) == {"foo", "bar"}
    assert primary_language("en-US") == primary_language("EN_gb") == primary_language(" en") == "en"
    assert primary_language("") == ""
    # A blank filter tag constrains nothing.
    assert check(HD, channel(required_tags=(" ",), any_tags=("",))).eligible


def test_empty_video_language_fails_a_language_filter() -> None:
    mute = replace(HD, language="")
    assert check(mute, channel(languages=("en",))).failed_filters == ("languages",)
    assert check(mute, channel()).eligible


# Transformations -------------------------------------------------------------------------------


def test_trim_fixes_max_duration() -> None:
    match = check(HD, channel((Transformation(TRIM, trim_seconds=60),), max_duration_seconds=90))
    assert match == Match(True, (), (Transformation(TRIM, trim_seconds=60),))


def test_trim_without_length_cuts_to_the_maximum() -> None:
    match = check(HD, channel((Transformation(TRIM),), max_duration_seconds=90))
    assert match.transformations == (Transformation(TRIM, trim_seconds=90),)


def test_longest_usable_trim_wins() -> None:
    trims = (
        Transformation(TRIM, trim_seconds=30),
        Transformation(TRIM, trim_seconds=100),  # longer than the maximum: unusable
        Transformation(TRIM, trim_seconds=60),
    )
    match = check(HD, channel(trims, max_duration_seconds=90))
    assert match.transformations == (Transformation(TRIM, trim_seconds=60),)


def test_trim_longer_than_the_maximum_cannot_fix() -> None:
    match = check(HD, channel((Transformation(TRIM, trim_seconds=100),), max_duration_seconds=90))
    assert match == Match(False, ("max_duration_seconds",), ())


def test_trim_shorter_than_the_minimum_cannot_fix() -> None:
    rules = {"max_duration_seconds": 90, "min_duration_seconds": 45}
    short_trim = channel((Transformation(TRIM, trim_seconds=30),), **rules)
    assert check(HD, short_trim).failed_filters == ("max_duration_seconds",)
    assert check(HD, channel((Transformation(TRIM),), **rules)).eligible


def test_trim_never_fixes_min_duration_and_is_not_needed_when_short_enough() -> None:
    trim = (Transformation(TRIM, trim_seconds=60),)
    assert check(HD, channel(trim, min_duration_seconds=200)).failed_filters == (
        "min_duration_seconds",
    )
    assert check(HD, channel(trim, max_duration_seconds=200)) == Match(True, (), ())


@pytest.mark.parametrize("crop_to", [Orientation.VERTICAL, Orientation.UNSPECIFIED])
def test_crop_fixes_orientation(crop_to: Orientation) -> None:
    crop = (Transformation(CROP, orientation=crop_to),)
    match = check(HD, channel(crop, orientation=Orientation.VERTICAL))
    assert match == Match(True, (), (Transformation(CROP, orientation=Orientation.VERTICAL),))


def test_crop_to_another_orientation_does_not_fix() -> None:
    crop = (Transformation(CROP, orientation=Orientation.SQUARE),)
    assert check(HD, channel(crop, orientation=Orientation.VERTICAL)).failed_filters == (
        "orientation",
    )


def test_resolution_is_checked_on_the_cropped_frame() -> None:
    crop = (Transformation(CROP),)
    # 1920x1080 cropped to 9:16 is 607x1080.
    assert check(HD, channel(crop, orientation=Orientation.VERTICAL, min_width=607)).eligible
    too_narrow = check(HD, channel(crop, orientation=Orientation.VERTICAL, min_width=608))
    assert too_narrow.failed_filters == ("min_width",)
    # Without a crop the orientation fails and the resolution is checked on the source frame.
    plain = check(HD, channel(orientation=Orientation.VERTICAL, min_width=608))
    assert plain.failed_filters == ("orientation",)


def test_crop_of_a_tall_frame_to_horizontal_and_square() -> None:
    tall = replace(HD, width=1080, height=1920)
    crop = (Transformation(CROP),)
    assert check(tall, channel(crop, orientation=Orientation.HORIZONTAL, min_height=607)).eligible
    assert not check(
        tall, channel(crop, orientation=Orientation.HORIZONTAL, min_height=608)
    ).eligible
    assert check(tall, channel(crop, orientation=Orientation.SQUARE, min_height=1080)).eligible
    assert not check(tall, channel(crop, orientation=Orientation.SQUARE, min_height=1081)).eligible


@pytest.mark.parametrize(
    ("frame", "orientation", "expected"),
    [
        ((1920, 1080), Orientation.VERTICAL, (607, 1080)),
        ((1080, 1080), Orientation.VERTICAL, (607, 1080)),
        ((1080, 1920), Orientation.HORIZONTAL, (1080, 607)),
        ((1920, 1080), Orientation.SQUARE, (1080, 1080)),
        ((1, 1), Orientation.VERTICAL, None),  # nothing left
        ((0, 0), Orientation.SQUARE, None),
        ((1920, 1080), Orientation.HORIZONTAL, None),  # already wider: not a crop to 16:9
        ((1920, 1080), Orientation.UNSPECIFIED, None),
    ],
)
def test_cropped_frame(
    frame: tuple[int, int], orientation: Orientation, expected: tuple[int, int] | None
) -> None:
    assert cropped_frame(*frame, orientation) == expected


def test_degenerate_frame_cannot_be_cropped() -> None:
    dot = replace(HD, width=1, height=1)
    crop = (Transformation(CROP),)
    assert check(dot, channel(crop, orientation=Orientation.VERTICAL)).failed_filters == (
        "orientation",
    )


def test_captions_fix_languages() -> None:
    captions = (
        Transformation(CAPTIONS, language="fr"),  # the channel does not accept French
        Transformation(CAPTIONS, language="de-DE"),
    )
    german = channel(captions, languages=("de",))
    match = check(HD, german)
    assert match == Match(True, (), (Transformation(CAPTIONS, language="de-DE"),))
    # A video already in German needs nothing.
    assert check(replace(HD, language="de"), german).transformations == ()
    assert check(HD, channel(captions[:1], languages=("de",))).failed_filters == ("languages",)


def test_transformations_are_listed_trim_crop_captions() -> None:
    everything = (
        Transformation(CAPTIONS, language="de"),
        Transformation(CROP, orientation=Orientation.SQUARE),
        Transformation(TRIM, trim_seconds=30),
    )
    match = check(
        HD,
        channel(
            everything,
            max_duration_seconds=60,
            orientation=Orientation.SQUARE,
            languages=("de",),
        ),
    )
    assert match.eligible
    assert [t.kind for t in match.transformations] == [TRIM, CROP, CAPTIONS]


def test_ineligible_pair_still_lists_the_fixes_that_apply() -> None:
    match = check(HD, channel((Transformation(TRIM),), max_duration_seconds=60, min_views=10**9))
    assert match == Match(False, ("min_views",), (Transformation(TRIM, trim_seconds=60),))


def test_lists_instead_of_tuples_still_work() -> None:
    listed = Channel(
        id="c",
        filters=ContentFilters(required_tags=["cooking"]),  # type: ignore[arg-type]
        transformations=[Transformation(TRIM)],  # type: ignore[arg-type]
    )
    assert check(HD, listed).eligible
