"""The match score: each part, the clamps, and the documented bounds."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.domain import (
    Channel,
    ContentFilters,
    Orientation,
    Preferences,
    Transformation,
    TransformationKind,
    Video,
)
from allocator.filters import check
from allocator.scoring import (
    BASE,
    TAG_PART_LIMIT,
    InvalidTagWeight,
    ScoreBreakdown,
    doublings,
    milli_tag_weights,
    score,
)

VIDEO = Video(id="v", duration_seconds=60, width=1920, height=1080, views=1_000, tags=("Cook",))


def channel(
    weights: tuple[tuple[str, float], ...] = (),
    priority: int = 0,
    transformations: tuple[Transformation, ...] = (),
    **filters: object,
) -> Channel:
    return Channel(
        id="c",
        filters=ContentFilters(**filters),  # type: ignore[arg-type]
        preferences=Preferences(tag_weights=weights, priority=priority),
        transformations=transformations,
    )


def test_plain_pair_scores_the_base() -> None:
    assert score(VIDEO, channel()) == ScoreBreakdown(BASE, 0, 0, 0, 0, 0, BASE)


def test_as_dict_names_every_part() -> None:
    assert score(VIDEO, channel(priority=3)).as_dict() == {
        "base": BASE,
        "tags": 0,
        "priority": 300,
        "views_headroom": 0,
        "resolution_headroom": 0,
        "transformation_penalty": 0,
        "total": BASE + 300,
    }


def test_tag_weights_are_milli_units_rounded_half_to_even() -> None:
    weights = milli_tag_weights(
        Preferences(tag_weights=(("a", 0.0025), ("b", 0.0125), ("c", -1.5), ("d", 2.0)))
    )
    assert weights == {"a": 2, "b": 12, "c": -1_500, "d": 2_000}


def test_tag_weights_match_video_tags_case_insensitively_once_each() -> None:
    video = replace(VIDEO, tags=("COOK", "cook ", "Pasta", "other"))
    result = score(video, channel((("cook", 1.5), (" PASTA", 0.25), ("unused", 9.0))))
    assert result.tags == 1_750
    assert result.total == BASE + 1_750


def test_later_duplicate_tag_weight_wins() -> None:
    assert milli_tag_weights(Preferences(tag_weights=(("Cook", 1.0), ("cook", 3.0)))) == {
        "cook": 3_000
    }


def test_tag_weights_are_clamped() -> None:
    weights = milli_tag_weights(Preferences(tag_weights=(("a", math.inf), ("b", -1e9))))
    assert weights == {"a": 1_000_000, "b": -1_000_000}
    many = tuple((f"t{i}", 1_000.0) for i in range(5))
    video = replace(VIDEO, tags=tuple(f"t{i}" for i in range(5)))
    assert score(video, channel(many)).tags == TAG_PART_LIMIT


def test_nan_weight_is_rejected_with_its_field() -> None:
    with pytest.raises(InvalidTagWeight) as error:
        milli_tag_weights(Preferences(tag_weights=(("a", 1.0), ("b", math.nan))))
    assert error.value.field == "preferences.tag_weights[1]"


def test_negative_total_is_clamped_to_zero() -> None:
    result = score(VIDEO, channel((("cook", -50.0),)))
    assert result.tags == -50_000
    assert result.total == 0


@pytest.mark.parametrize(
    ("priority", "points"), [(-5, 0), (0, 0), (7, 700), (100, 10_000), (999, 10_000)]
)
def test_priority_is_clamped(priority: int, points: int) -> None:
    assert score(VIDEO, channel(priority=priority)).priority == points


@pytest.mark.parametrize(
    ("views", "minimum", "points"),
    [
        (1_000, 0, 0),
        (1_000, 1_000, 0),
        (1_999, 1_000, 0),
        (2_000, 1_000, 100),
        (7_999, 1_000, 200),
        (8_000, 1_000, 300),
        (10**15, 1_000, 1_000),
        (999, 1_000, 0),
    ],
)
def test_views_headroom(views: int, minimum: int, points: int) -> None:
    assert score(replace(VIDEO, views=views), channel(min_views=minimum)).views_headroom == points


def test_resolution_headroom_per_side() -> None:
    result = score(VIDEO, channel(min_height=540, min_width=480))  # 2x and 4x
    assert result.resolution_headroom == 100 * 1 + 100 * 2
    uhd = replace(VIDEO, width=100_000, height=100_000)
    assert score(uhd, channel(min_height=1, min_width=1)).resolution_headroom == 800


def test_resolution_headroom_uses_the_cropped_frame() -> None:
    crop = (Transformation(TransformationKind.CROP),)
    vertical = channel(
        transformations=crop, orientation=Orientation.VERTICAL, min_width=300, min_height=1080
    )
    result = score(VIDEO, vertical)  # cropped to 607x1080
    assert result.resolution_headroom == 100 * 1
    assert result.transformation_penalty == 500
    assert result.total == BASE + 100 - 500


def test_each_needed_transformation_costs_the_penalty() -> None:
    video = replace(VIDEO, duration_seconds=100, language="fr")
    needs_two = channel(
        transformations=(
            Transformation(TransformationKind.TRIM),
            Transformation(TransformationKind.BURN_CAPTIONS, language="en"),
        ),
        max_duration_seconds=30,
        languages=("en",),
    )
    match = check(video, needs_two)
    assert match.eligible and len(match.transformations) == 2
    assert score(video, needs_two, match).transformation_penalty == 1_000


def test_doublings_is_an_integer_log2() -> None:
    assert [doublings(v, 3, 10) for v in (0, 2, 3, 5, 6, 11, 12, 3 * 2**20)] == [
        0,
        0,
        0,
        0,
        1,
        1,
        2,
        10,
    ]
    assert doublings(10, 0, 10) == 0


@settings(max_examples=200, deadline=None, database=None)
@given(
    views=st.integers(0, 2**63 - 1),
    min_views=st.integers(0, 2**63 - 1),
    width=st.integers(0, 2**31 - 1),
    height=st.integers(0, 2**31 - 1),
    weights=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(allow_nan=False)), max_size=5
    ),
    priority=st.integers(-(2**40), 2**40),
)
def test_total_stays_small_and_non_negative(
    views: int,
    min_views: int,
    width: int,
    height: int,
    weights: list[tuple[str, float]],
    priority: int,
) -> None:
    video = Video(id="v", views=views, width=width, height=height, tags=("a", "b", "c"))
    result = score(video, channel(tuple(weights), priority, min_views=min_views, min_height=1))
    assert 0 <= result.total < 10**7
    parts = (
        result.base
        + result.tags
        + result.priority
        + result.views_headroom
        + result.resolution_headroom
        - result.transformation_penalty
    )
    assert result.total == max(0, parts)


def test_listed_tag_weights_still_work() -> None:
    listed = Preferences(tag_weights=[("cook", 1.0)])  # type: ignore[arg-type]
    assert score(VIDEO, Channel(id="c", preferences=listed)).tags == 1_000
