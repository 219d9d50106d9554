"""Vectorised candidates: exactly `filters.check` + `scoring.score`, pair by pair."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.candidates import Candidates, build_candidates
from allocator.domain import (
    Channel,
    ContentFilters,
    Orientation,
    Preferences,
    Transformation,
    TransformationKind,
    Video,
    VideoState,
)
from allocator.filters import check
from allocator.scoring import score
from allocator.video_table import NO_END, NO_START, VIDEO_STATES, InvalidVideoField, VideoTable

TAGS = ["cook", "Cook ", "PASTA", "news", "sport", "", "music"]
LANGUAGES = ["en", "en-US", "EN_gb", "de", "fr", "", "pt-BR"]
T = TypeVar("T")
SIDES = [0, 1, 2, 9, 16, 360, 607, 640, 720, 1080, 1920, 3840]
THRESHOLDS = [1, 30, 60, 90, 2**53 + 3, 10**20]


def _expected(videos: list[Video], channels: list[Channel]) -> dict[tuple[int, int], int]:
    pairs = {}
    for c, channel in enumerate(channels):
        for v, video in enumerate(videos):
            match = check(video, channel)
            if match.eligible:
                pairs[(c, v)] = score(video, channel, match).total
    return pairs


def _actual(candidates: Candidates) -> dict[tuple[int, int], int]:
    return {
        (int(c), int(v)): int(s)
        for c, v, s in zip(
            candidates.channel_idx, candidates.video_idx, candidates.score, strict=True
        )
    }


def _assert_same_as_scalar(videos: list[Video], channels: list[Channel]) -> Candidates:
    candidates = build_candidates(VideoTable.from_videos(videos), channels)
    assert candidates.video_idx.dtype == np.int32
    assert candidates.channel_idx.dtype == np.int32
    assert candidates.score.dtype == np.int64
    keys = list(zip(candidates.channel_idx.tolist(), candidates.video_idx.tolist(), strict=True))
    assert keys == sorted(set(keys)), "sorted by (channel_idx, video_idx), no duplicates"
    assert _actual(candidates) == _expected(videos, channels)
    return candidates


videos_st = st.builds(
    Video,
    id=st.just("v"),
    source_url=st.sampled_from(["", "https://a", "https://b"]),
    duration_seconds=st.one_of(
        st.sampled_from([0.0, 29.999, 30.0, 60.0, 60.5, 90.0, 2.0**53 + 4, float("inf")]),
        st.floats(0, 200, allow_nan=False),
        st.just(float("nan")),
    ),
    width=st.sampled_from(SIDES),
    height=st.sampled_from(SIDES),
    views=st.one_of(st.sampled_from([0, 1, 59, 60, 61, 120, 2**62]), st.integers(0, 10**6)),
    tags=st.lists(st.sampled_from(TAGS), max_size=4).map(tuple),
    watermarked=st.booleans(),
    language=st.sampled_from(LANGUAGES),
)

transformations_st = st.lists(
    st.one_of(
        st.builds(
            Transformation,
            kind=st.just(TransformationKind.TRIM),
            trim_seconds=st.sampled_from([0, 20, 30, 60, 90, 120]),
        ),
        st.builds(
            Transformation,
            kind=st.just(TransformationKind.CROP),
            orientation=st.sampled_from(Orientation),
        ),
        st.builds(
            Transformation,
            kind=st.just(TransformationKind.BURN_CAPTIONS),
            language=st.sampled_from(LANGUAGES),
        ),
    ),
    max_size=4,
).map(tuple)


def _or_default(default: object, values: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Half the time no constraint, so that many pairs pass every other filter."""
    return st.one_of(st.just(default), values)  # type: ignore[arg-type]


tag_sets = st.lists(st.sampled_from([*TAGS, "absent"]), min_size=1, max_size=2).map(tuple)

filters_st = st.builds(
    ContentFilters,
    min_duration_seconds=_or_default(0, st.sampled_from(THRESHOLDS)),
    max_duration_seconds=_or_default(0, st.sampled_from(THRESHOLDS)),
    min_height=_or_default(0, st.sampled_from(SIDES[:8])),
    min_width=_or_default(0, st.sampled_from(SIDES[:8])),
    orientation=st.sampled_from(Orientation),
    min_views=_or_default(0, st.sampled_from([1, 60, 61, 2**62, 2**70])),
    required_tags=_or_default((), tag_sets),
    any_tags=_or_default((), tag_sets),
    exclude_tags=_or_default((), tag_sets),
    exclude_watermarked=st.booleans(),
    languages=_or_default((), st.lists(st.sampled_from([*LANGUAGES, "ja"]), max_size=2).map(tuple)),
)

preferences_st = st.builds(
    Preferences,
    tag_weights=st.lists(
        st.tuples(
            st.sampled_from([*TAGS, "absent"]),
            st.one_of(
                st.floats(-3, 3, allow_nan=False),
                st.sampled_from([0.0025, 0.0125, 2e3, -1e9, float("inf")]),
            ),
        ),
        max_size=4,
    ).map(tuple),
    priority=st.integers(-10, 150),
)

channels_st = st.builds(
    Channel,
    id=st.just("c"),
    filters=filters_st,
    preferences=preferences_st,
    transformations=transformations_st,
)


@settings(max_examples=200, deadline=None, database=None)
@given(
    videos=st.lists(videos_st, max_size=25),
    channels=st.lists(channels_st, max_size=6),
)
def test_vectorised_equals_scalar(videos: list[Video], channels: list[Channel]) -> None:
    _assert_same_as_scalar(videos, channels)


def _random_instance(rng: random.Random) -> tuple[list[Video], list[Channel]]:
    videos = [
        Video(
            id=f"v{i}",
            source_url=f"https://x/{i % 50}",
            duration_seconds=rng.choice([rng.uniform(1, 300), float(rng.randint(1, 300))]),
            width=rng.choice(SIDES[5:]),
            height=rng.choice(SIDES[5:]),
            views=int(rng.lognormvariate(6, 2)),
            tags=tuple(rng.sample(TAGS, rng.randint(0, 4))),
            watermarked=rng.random() < 0.2,
            language=rng.choice(LANGUAGES),
        )
        for i in range(600)
    ]
    kinds = list(TransformationKind)
    channels = [
        Channel(
            id=f"c{j}",
            filters=ContentFilters(
                min_duration_seconds=rng.choice([0, 10, 30]),
                max_duration_seconds=rng.choice([0, 60, 120, 240]),
                min_height=rng.choice([0, 360, 720]),
                min_width=rng.choice([0, 360, 640]),
                orientation=rng.choice(list(Orientation)),
                min_views=rng.choice([0, 100, 1000]),
                required_tags=tuple(rng.sample(TAGS, rng.choice([0, 0, 1]))),
                any_tags=tuple(rng.sample(TAGS, rng.choice([0, 2, 3]))),
                exclude_tags=tuple(rng.sample(TAGS, rng.choice([0, 1]))),
                exclude_watermarked=rng.random() < 0.5,
                languages=tuple(rng.sample(["en", "de", "fr"], rng.choice([0, 1, 2]))),
            ),
            preferences=Preferences(
                tag_weights=tuple((rng.choice(TAGS), rng.uniform(-2, 4)) for _ in range(3)),
                priority=rng.randint(-5, 120),
            ),
            transformations=tuple(
                Transformation(
                    kind,
                    trim_seconds=rng.choice([0, 30, 60]),
                    orientation=rng.choice(list(Orientation)),
                    language=rng.choice(["en", "de", "fr"]),
                )
                for kind in rng.sample(kinds, rng.randint(0, 3))
            ),
        )
        for j in range(40)
    ]
    return videos, channels


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_equals_scalar_on_a_larger_random_instance(seed: int) -> None:
    videos, channels = _random_instance(random.Random(seed))
    candidates = _assert_same_as_scalar(videos, channels)
    assert 0 < len(candidates) < len(videos) * len(channels)


def test_channel_rows_and_transformations_of_a_pair() -> None:
    videos = [
        Video(id="short", duration_seconds=30, width=1920, height=1080),
        Video(id="long", duration_seconds=300, width=1920, height=1080),
    ]
    trim = Transformation(TransformationKind.TRIM, trim_seconds=60)
    channels = [
        Channel(id="any"),
        Channel(id="none", filters=ContentFilters(min_views=1)),
        Channel(
            id="short", filters=ContentFilters(max_duration_seconds=60), transformations=(trim,)
        ),
    ]
    candidates = build_candidates(VideoTable.from_videos(videos), channels)
    assert candidates.channel_ptr.tolist() == [0, 2, 2, 4]
    assert candidates.video_idx[candidates.of_channel(2)].tolist() == [0, 1]
    assert candidates.of_channel(1) == slice(2, 2)
    assert candidates.transformations(3, videos, channels) == (trim,)
    assert candidates.transformations(2, videos, channels) == ()
    assert candidates.score[3] == candidates.score[2] - 500


def test_empty_inputs() -> None:
    empty = build_candidates(VideoTable.from_videos([]), [Channel(id="c")])
    assert len(empty) == 0 and empty.channel_ptr.tolist() == [0, 0]
    none = build_candidates(VideoTable.from_videos([Video(id="v")]), [])
    assert len(none) == 0 and none.channel_ptr.tolist() == [0]


def test_video_table_columns() -> None:
    start = datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=UTC)
    videos = [
        Video(
            id="a",
            source_url="https://a",
            language="en-US",
            tags=("Cook", "cook", "News"),
            state=VideoState.NOT_READY,
            available_from=start,
            expires_at=start + timedelta(days=1),
        ),
        Video(id="b", source_url="", language="EN", tags=("news",)),
        Video(id="c", source_url="https://a", language=""),
    ]
    table = VideoTable.from_videos(videos)
    assert len(table) == 3
    assert table.ids == ("a", "b", "c")
    assert table.language.tolist() == [0, 0, -1]
    assert table.source.tolist() == [0, -1, 0]
    assert [VIDEO_STATES[code] for code in table.state] == [
        VideoState.NOT_READY,
        VideoState.READY,
        VideoState.READY,
    ]
    epoch = int(datetime(2024, 1, 1, 12, tzinfo=UTC).timestamp())
    assert table.window_start.tolist() == [epoch + 1, NO_START, NO_START]  # rounded up
    assert table.window_end.tolist() == [epoch + 86_401, NO_END, NO_END]
    assert table.tags.shape == (3, 2)
    assert table.tags.toarray().tolist() == [[True, True], [False, True], [False, False]]
    assert table.tag_ids == {"cook": 0, "news": 1}
    assert table.videos_with_tag(table.tag_ids["news"]).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("video", "field"),
    [
        (Video(id="v", width=2**31), "videos[0].width"),
        (Video(id="v", height=-(2**31)), "videos[0].height"),
        (Video(id="v", views=2**63), "videos[0].views"),
        (Video(id="v", available_from=datetime(2024, 1, 1)), "videos[0].available_from"),
    ],
)
def test_out_of_range_videos_are_rejected_by_field(video: Video, field: str) -> None:
    with pytest.raises(InvalidVideoField) as error:
        VideoTable.from_videos([video])
    assert error.value.field == field


def test_float_durations_against_integer_limits_are_exact() -> None:
    # Integers above 2**53 are not floats: a naive float comparison gets these wrong.
    big = 2**53
    durations = [float(big + k) for k in (-2, 0, 2, 4, 6, 8)] + [1e300, float("inf")]
    videos = [Video(id=str(d), duration_seconds=d) for d in durations]
    limits = [big + k for k in (-1, 1, 3, 5, 7)] + [10**400]
    channels = [Channel(id="min", filters=ContentFilters(min_duration_seconds=m)) for m in limits]
    channels += [Channel(id="max", filters=ContentFilters(max_duration_seconds=m)) for m in limits]
    _assert_same_as_scalar(videos, channels)


def test_crops_of_every_frame_shape() -> None:
    videos = [Video(id=f"{w}x{h}", width=w, height=h) for w in SIDES for h in SIDES]
    crop = (Transformation(TransformationKind.CROP),)
    channels = [
        Channel(
            id="crop",
            filters=ContentFilters(orientation=o, min_width=min_width, min_height=min_height),
            transformations=crop,
        )
        for o in Orientation
        for min_width in (0, 1, 607)
        for min_height in (0, 1, 607)
    ]
    _assert_same_as_scalar(videos, channels)


def test_tag_part_clamp_and_rounding() -> None:
    tags = tuple(f"t{i}" for i in range(4))
    videos = [Video(id="all", tags=tags), Video(id="one", tags=tags[:1])]
    channels = [
        Channel(id="up", preferences=Preferences(tag_weights=tuple((t, 600.0) for t in tags))),
        Channel(id="down", preferences=Preferences(tag_weights=tuple((t, -1e9) for t in tags))),
        Channel(id="half", preferences=Preferences(tag_weights=(("t0", 0.0025), ("T1", 0.0125)))),
    ]
    _assert_same_as_scalar(videos, channels)
