"""Stored channel configuration read into domain values equals what the API message says.

The configuration is written by the API edge (`converters.channel_config`, protobuf JSON) and
read by the use cases without protobuf (`domain_values`); generated channels check that both
ends agree on every field, including int64-as-string, enum names and RFC 3339 blackouts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from allocator import calendar
from allocator import domain as d
from distribution.v1 import resources_pb2 as pb
from persistence import models
from server.api import converters
from server.usecases.domain_values import channel_to_domain, transformation_json

_TAGS = st.lists(st.sampled_from(["cooking", "news", "cats", "ünï", "a b"]), max_size=3)
_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_ORIENTATIONS = st.sampled_from(list(pb.Orientation.values()))


@st.composite
def channels(draw: st.DrawFn) -> pb.Channel:
    message = pb.Channel(id="c1", timezone=draw(st.sampled_from(["UTC", "Europe/Berlin"])))
    f = message.filters
    f.min_duration_seconds = draw(st.integers(0, 600))
    f.max_duration_seconds = draw(st.integers(0, 600))
    f.min_height = draw(st.integers(0, 4000))
    f.min_width = draw(st.integers(0, 4000))
    f.orientation = draw(_ORIENTATIONS)
    f.min_views = draw(st.integers(0, 2**62))
    f.required_tags.extend(draw(_TAGS))
    f.any_tags.extend(draw(_TAGS))
    f.exclude_tags.extend(draw(_TAGS))
    f.exclude_watermarked = draw(st.booleans())
    f.languages.extend(draw(st.lists(st.sampled_from(["en", "de", "pt-BR"]), max_size=2)))
    weights = draw(st.dictionaries(st.sampled_from(["cooking", "news"]), st.floats(-1000, 1000)))
    message.preferences.tag_weights.update(weights)
    message.preferences.priority = draw(st.integers(0, 100))
    for _ in range(draw(st.integers(0, 3))):
        message.schedule.slots.add(
            days=draw(st.lists(st.integers(1, 7), min_size=1, max_size=7)),
            local_time=f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}",
        )
    message.schedule.max_posts_per_day = draw(st.integers(0, 24))
    for _ in range(draw(st.integers(0, 2))):
        start = draw(_TIMES)
        window = message.schedule.blackouts.add()
        window.start_time.CopyFrom(converters.dt_to_ts(start))
        window.end_time.CopyFrom(
            converters.dt_to_ts(start + timedelta(hours=draw(st.integers(1, 99))))
        )
    kinds = draw(st.lists(st.sampled_from([1, 2, 3]), max_size=3, unique=True))
    for kind in kinds:
        message.transformations.add(
            kind=kind,
            trim_seconds=draw(st.integers(0, 300)),
            orientation=draw(_ORIENTATIONS),
            language=draw(st.sampled_from(["", "en"])),
        )
    return message


def _short(enum: object, value: int, prefix: str) -> str:
    return converters.enum_name(enum, value, prefix)


def _expected(m: pb.Channel) -> d.Channel:
    """The domain channel read field by field from the message."""
    f = m.filters
    return d.Channel(
        id=m.id,
        timezone=m.timezone,
        active=True,
        available=True,
        filters=d.ContentFilters(
            min_duration_seconds=f.min_duration_seconds,
            max_duration_seconds=f.max_duration_seconds,
            min_height=f.min_height,
            min_width=f.min_width,
            orientation=d.Orientation(_short(pb.Orientation, f.orientation, "ORIENTATION_")),
            min_views=f.min_views,
            required_tags=tuple(f.required_tags),
            any_tags=tuple(f.any_tags),
            exclude_tags=tuple(f.exclude_tags),
            exclude_watermarked=f.exclude_watermarked,
            languages=tuple(f.languages),
        ),
        preferences=d.Preferences(
            tag_weights=tuple(sorted(m.preferences.tag_weights.items())),
            priority=m.preferences.priority,
        ),
        schedule=d.PostingSchedule(
            slots=tuple(
                d.WeeklySlot(tuple(s.days), calendar.parse_local_time(s.local_time))
                for s in m.schedule.slots
            ),
            max_posts_per_day=m.schedule.max_posts_per_day,
            blackouts=tuple(
                d.TimeWindow(converters.ts_to_dt(w.start_time), converters.ts_to_dt(w.end_time))
                for w in m.schedule.blackouts
            ),
        ),
        transformations=tuple(
            d.Transformation(
                kind=d.TransformationKind(
                    _short(pb.TransformationKind, t.kind, "TRANSFORMATION_KIND_")
                ),
                trim_seconds=t.trim_seconds,
                orientation=d.Orientation(_short(pb.Orientation, t.orientation, "ORIENTATION_")),
                language=t.language,
            )
            for t in m.transformations
        ),
    )


def _stored(message: pb.Channel) -> models.Channel:
    return models.Channel(
        id=message.id,
        timezone=message.timezone,
        active=True,
        available=True,
        config=converters.channel_config(message),
    )


@given(channels())
def test_stored_config_reads_back_as_the_message_says(message):
    assert channel_to_domain(_stored(message)) == _expected(message)


@given(channels())
def test_a_needed_transformation_round_trips_through_its_json(message):
    for t in channel_to_domain(_stored(message)).transformations:
        proto = converters.transformations_to_proto([transformation_json(t)])[0]
        assert (proto.kind, proto.trim_seconds, proto.language) == (
            pb.TransformationKind.Value(f"TRANSFORMATION_KIND_{t.kind.value}"),
            t.trim_seconds,
            t.language,
        )
        assert proto.orientation == pb.Orientation.Value(f"ORIENTATION_{t.orientation.value}")
