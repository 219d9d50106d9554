"""What Explain computes per pair from per-version compiled channels (`pair_total`,
`channels_scoring`) against the allocator's own `check` and `score`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import domain as d
from allocator import filters, scoring
from server.usecases import domain_values
from server.usecases.domain_values import VersionedCache, channels_scoring

T0 = datetime(2030, 1, 1, tzinfo=UTC)
_TAGS = st.sampled_from(["cook", " Cook ", "news", "cats", ""])
_KINDS = st.sampled_from(list(d.TransformationKind))
_ORIENTATIONS = st.sampled_from(list(d.Orientation))


@st.composite
def _pairs(draw: Any) -> tuple[d.Video, d.Channel]:
    video = d.Video(
        id="v",
        duration_seconds=draw(st.floats(0, 600, allow_nan=False)),
        width=draw(st.integers(0, 4000)),
        height=draw(st.integers(0, 4000)),
        views=draw(st.integers(0, 10**7)),
        tags=tuple(draw(st.lists(_TAGS, max_size=4))),
        watermarked=draw(st.booleans()),
        language=draw(st.sampled_from(["", "en", "de-AT", "FR"])),
    )
    content = d.ContentFilters(
        min_duration_seconds=draw(st.integers(0, 60)),
        max_duration_seconds=draw(st.sampled_from([0, 30, 120])),
        min_height=draw(st.sampled_from([0, 720, 1080])),
        min_width=draw(st.sampled_from([0, 640, 1920])),
        orientation=draw(_ORIENTATIONS),
        min_views=draw(st.sampled_from([0, 1, 100, 5000])),
        required_tags=tuple(draw(st.lists(_TAGS, max_size=2))),
        any_tags=tuple(draw(st.lists(_TAGS, max_size=2))),
        exclude_tags=tuple(draw(st.lists(_TAGS, max_size=2))),
        exclude_watermarked=draw(st.booleans()),
        languages=tuple(draw(st.lists(st.sampled_from(["en", "de", "fr"]), max_size=2))),
    )
    transformations = tuple(
        d.Transformation(
            kind=draw(_KINDS),
            trim_seconds=draw(st.sampled_from([0, 20, 90])),
            orientation=draw(_ORIENTATIONS),
            language=draw(st.sampled_from(["", "de", "en"])),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    preferences = d.Preferences(
        tag_weights=tuple(
            draw(st.lists(st.tuples(_TAGS, st.floats(-2000, 2000, allow_nan=False)), max_size=4))
        ),
        priority=draw(st.integers(-5, 200)),
    )
    channel = d.Channel(
        id="c", filters=content, preferences=preferences, transformations=transformations
    )
    return video, channel


@settings(max_examples=400, deadline=None)
@given(_pairs())
def test_pair_total_is_the_score_total(pair: tuple[d.Video, d.Channel]) -> None:
    video, channel = pair
    rules = filters.compile_rules(channel)
    match = filters.evaluate(video, rules)
    total = scoring.pair_total(
        video,
        filters.normalise_tags(video.tags),
        rules,
        scoring.milli_tag_weights(channel.preferences),
        scoring.priority_part(channel.preferences.priority),
        match,
    )
    assert match == filters.check(video, channel)
    assert total == scoring.score(video, channel, match).total


class _Row(NamedTuple):
    id: str
    update_time: datetime


def _config(max_duration: int) -> dict[str, Any]:
    return {
        "filters": {"max_duration_seconds": max_duration, "exclude_tags": ["News"]},
        "preferences": {"tag_weights": {"cooking": 1.5, "cats": -2.0}, "priority": 7},
        "transformations": [{"kind": "TRANSFORMATION_KIND_TRIM", "trim_seconds": 25}],
    }


def test_channels_scoring_compiles_each_version_once(monkeypatch: Any) -> None:
    monkeypatch.setattr(domain_values, "_SCORING", VersionedCache(domain_values._channel_scoring))
    configs = {"a": _config(30), "b": _config(60)}
    reads: list[list[str]] = []

    def read(ids: list[str]) -> dict[str, tuple[datetime, dict[str, Any]]]:
        reads.append(sorted(ids))
        return {cid: (T0, configs[cid]) for cid in ids}

    rows = [_Row("b", T0), _Row("a", T0), _Row("b", T0)]
    first = channels_scoring(rows, read)
    assert channels_scoring(rows, read) == first
    assert reads == [["a", "b"]]  # the second call read nothing
    parsed = domain_values.parse_config(configs["b"])
    channel = d.Channel(id="b", filters=parsed.filters, transformations=parsed.transformations)
    assert first[0].rules == filters.compile_rules(channel)
    assert first[0].weights == {"cooking": 1500, "cats": -2000}
    assert first[0].priority_points == scoring.priority_part(7)
    assert first[0] is first[2]
    # A new version of one channel: only that one is read again.
    configs["a"] = _config(10)
    newer = channels_scoring([_Row("a", T0 + timedelta(seconds=1)), _Row("b", T0)], read)
    assert reads[-1] == ["a"]
    assert newer[0].rules.max_duration_seconds == 10 and newer[1] is first[0]


def test_cached_many_is_cached_of_each() -> None:
    cache: VersionedCache[int] = VersionedCache(lambda config: int(config["n"]), size=2)
    cache.put("a", T0, {"n": 1})
    cache.put("b", T0, {"n": 2})
    assert cache.cached_many([("b", T0), ("a", T0 + timedelta(1)), ("a", T0)]) == [2, None, 1]
    # Looked up last, "a" is the most recently used: a third entry evicts "b".
    cache.put("c", T0, {"n": 3})
    assert cache.cached_many([("a", T0), ("b", T0)]) == [1, None]
