"""The cache of parsed channel configurations: one parse per version, never a stale answer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from allocator import domain as d
from persistence import models
from server.usecases import domain_values
from server.usecases.domain_values import (
    ChannelConfigError,
    ConfigCache,
    channel_to_domain,
    channels_to_domain,
    parse_config,
    schedule_of,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _config(max_duration: int = 60) -> dict[str, Any]:
    return {
        "filters": {"max_duration_seconds": max_duration, "languages": ["en"]},
        "preferences": {"tag_weights": {"cooking": 3.0}, "priority": 2},
        "schedule": {"slots": [{"days": ["DAY_OF_WEEK_MONDAY"], "local_time": "09:00"}]},
        "transformations": [{"kind": "TRANSFORMATION_KIND_TRIM", "trim_seconds": 59}],
    }


def _row(
    config: dict[str, Any], *, update_time: datetime | None = T0, cid: str = "c"
) -> models.Channel:
    return models.Channel(
        id=cid,
        timezone="UTC",
        active=True,
        available=True,
        config=config,
        update_time=update_time,
    )


def test_one_parse_per_version(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ConfigCache()
    calls = []
    monkeypatch.setattr(domain_values, "parse_config", lambda c: calls.append(c) or parse_config(c))
    first = cache.get(_row(_config()))
    # Another load of the same row (a new dict with equal contents) is a hit.
    assert cache.get(_row(_config())) is first
    assert len(calls) == 1
    # A new version is parsed again.
    newer = cache.get(_row(_config(30), update_time=T0 + timedelta(seconds=1)))
    assert newer.filters.max_duration_seconds == 30
    assert len(calls) == 2


def test_a_changed_config_under_the_same_version_is_not_served_stale() -> None:
    cache = ConfigCache()
    row = _row(_config())
    assert cache.get(row).filters.max_duration_seconds == 60
    # Changed in place (or in a session before the flush that moves update_time on).
    row.config["filters"]["max_duration_seconds"] = 10
    assert cache.get(row).filters.max_duration_seconds == 10
    # The first parse kept its own copy: the original contents still hit and still read 60.
    assert cache.get(_row(_config())).filters.max_duration_seconds == 60


def test_a_row_not_yet_flushed_is_parsed_correctly() -> None:
    cache = ConfigCache()
    assert cache.get(_row(_config(5), update_time=None)).filters.max_duration_seconds == 5
    assert cache.get(_row(_config(6), update_time=None)).filters.max_duration_seconds == 6


def test_bounded_least_recently_used_out_first() -> None:
    cache = ConfigCache(size=2)
    a, b, c = (_row(_config(), cid=name) for name in "abc")
    first_a = cache.get(a)
    cache.get(b)
    assert cache.get(a) is first_a  # a is now the most recent
    cache.get(c)  # evicts b
    assert len(cache) == 2
    assert cache.get(a) is first_a


def test_a_bad_config_raises_every_time_and_is_not_cached() -> None:
    cache = ConfigCache()
    bad = _row({"filters": {"orientation": "ORIENTATION_DIAGONAL"}})
    for _ in range(2):
        with pytest.raises(ChannelConfigError):
            cache.get(bad)
    assert len(cache) == 0


def test_threads_share_one_cache() -> None:
    cache = ConfigCache(size=8)
    rows = [_row(_config(i + 1), cid=f"c{i}") for i in range(16)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                for i, row in enumerate(rows):
                    assert cache.get(row).filters.max_duration_seconds == i + 1
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(cache) == 8


def test_channel_to_domain_and_schedule_of_read_through_the_cache() -> None:
    row = _row(_config(), cid="through-the-cache")
    channel = channel_to_domain(row)
    assert channel == d.Channel(
        id="through-the-cache",
        timezone="UTC",
        filters=d.ContentFilters(max_duration_seconds=60, languages=("en",)),
        preferences=d.Preferences(tag_weights=(("cooking", 3.0),), priority=2),
        schedule=schedule_of(row),
        transformations=(d.Transformation(d.TransformationKind.TRIM, trim_seconds=59),),
    )
    assert channel_to_domain(row).filters is channel.filters
    assert schedule_of(row).slots[0].days == (1,)


def test_channels_to_domain_reads_only_the_versions_it_lacks() -> None:
    rows = [_row(_config(i + 1), cid=f"batch-{i}") for i in range(3)]
    for row in rows:
        # Rows loaded without their configuration: reading it must not be needed.
        del row.config
    reads: list[list[str]] = []

    def read(ids: list[str]) -> dict[str, tuple[datetime, dict[str, Any]]]:
        reads.append(ids)
        versions = {row.id: row.update_time for row in rows}
        return {cid: (versions[cid], _config(int(cid[-1]) + 1)) for cid in ids}

    first = channels_to_domain(rows, read)
    assert [c.filters.max_duration_seconds for c in first] == [1, 2, 3]
    assert reads == [["batch-0", "batch-1", "batch-2"]]
    assert channels_to_domain(rows, read) == first
    assert len(reads) == 1
    # A new version of one channel: only that one is read.
    rows[1].update_time = T0 + timedelta(seconds=1)
    channels_to_domain(rows, read)
    assert reads[1] == ["batch-1"]
    channels_to_domain(rows, read)
    assert len(reads) == 2
