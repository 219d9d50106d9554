"""channel_to_proto's configuration part: parsed once per version, never stale."""

from __future__ import annotations

from datetime import UTC, datetime

from distribution.v1 import resources_pb2 as pb
from persistence import models
from server.api.converters import channel_config, channel_to_proto
from tests.support.factories import channel

VERSION = datetime(2030, 1, 1, tzinfo=UTC)


def _config(min_views: int) -> dict:
    return channel_config(channel("cached", filters=pb.ContentFilters(min_views=min_views)))


def _row(config: dict, version: datetime = VERSION) -> models.Channel:
    return models.Channel(
        id="cached",
        display_name="Cached",
        platform="youtube",
        timezone="UTC",
        active=True,
        available=True,
        unavailable_reason="",
        unavailable_until=None,
        config=config,
        create_time=VERSION,
        update_time=version,
    )


def test_the_message_carries_the_stored_configuration_every_time() -> None:
    message = channel("cached", filters=pb.ContentFilters(min_views=7))
    message.retry_policy.max_attempts = 4
    row = _row(channel_config(message))
    first, second = channel_to_proto(row), channel_to_proto(row)
    assert first == second
    assert first.filters.min_views == 7 and first.retry_policy.max_attempts == 4
    assert list(first.schedule.slots) == list(message.schedule.slots)


def test_a_changed_config_under_the_same_version_is_not_served_from_the_cache() -> None:
    before = _row(_config(1))
    assert channel_to_proto(before).filters.min_views == 1
    after = _row(
        channel_config(channel("cached", filters=pb.ContentFilters(min_views=2)))
    )  # same id and update_time
    assert channel_to_proto(after).filters.min_views == 2


def test_mutating_the_row_afterwards_does_not_change_the_cached_entry() -> None:
    row = _row(
        channel_config(channel("cached", filters=pb.ContentFilters(min_views=3))),
        datetime(2031, 1, 1, tzinfo=UTC),
    )
    assert channel_to_proto(row).filters.min_views == 3
    row.config["filters"]["min_views"] = "9"
    assert channel_to_proto(row).filters.min_views == 9
