"""Quota windows against brute force: calendar days across DST, rolling 24 h windows minute by
minute, lock keys shared by placements that share a window, and the reset instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.quota_windows import (
    CALENDAR_DAY,
    DAY,
    ROLLING_24H,
    UnknownWindowKind,
    calendar_window,
    count_span,
    fits,
    lock_keys,
    peak_with,
    reset_after,
    windows_overlapping,
)

ZONES = [
    "UTC",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "Pacific/Apia",
]
BASE = datetime(2026, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# Two years in minutes: every DST change of the zones above, twice.
instants = st.integers(0, 2 * 366 * 1440).map(lambda m: BASE + m * MINUTE)


@settings(max_examples=400, deadline=None, database=None)
@given(st.sampled_from(ZONES), instants)
def test_calendar_window_is_the_local_day_between_two_midnights(zone: str, t: datetime) -> None:
    start, end = calendar_window(t, zone)
    tz = ZoneInfo(zone)
    assert start <= t < end
    assert timedelta(hours=22) <= end - start <= timedelta(hours=26)
    # Each bound is the first instant of its local date: one second earlier is the day before.
    for bound in (start, end):
        local = bound.astimezone(tz)
        before = (bound - timedelta(seconds=1)).astimezone(tz)
        assert before.date() < local.date()
        assert local.hour <= 1  # midnight, or the end of a DST gap at midnight
    assert calendar_window(end, zone)[0] == end
    assert calendar_window(start - timedelta(seconds=1), zone)[1] == start
    assert lock_keys(CALENDAR_DAY, zone, t) == [start]
    assert count_span(CALENDAR_DAY, zone, t) == (start, end)


def test_los_angeles_days_across_dst_are_23_and_25_hours() -> None:
    spring = calendar_window(datetime(2026, 3, 8, 12, tzinfo=UTC), "America/Los_Angeles")
    fall = calendar_window(datetime(2026, 11, 1, 12, tzinfo=UTC), "America/Los_Angeles")
    assert spring == (datetime(2026, 3, 8, 8, tzinfo=UTC), datetime(2026, 3, 9, 7, tzinfo=UTC))
    assert fall == (datetime(2026, 11, 1, 7, tzinfo=UTC), datetime(2026, 11, 2, 8, tzinfo=UTC))


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.sampled_from(ZONES),
    st.sampled_from([CALENDAR_DAY, ROLLING_24H]),
    instants,
    st.integers(1, 20 * 1440),
)
def test_windows_overlapping_tile_the_horizon(
    zone: str, kind: str, start: datetime, minutes: int
) -> None:
    end = start + minutes * MINUTE
    windows = windows_overlapping(kind, zone, start, end)
    assert windows[0][0] <= start < windows[0][1]
    assert windows[-1][0] < end <= windows[-1][1]
    assert all(a[1] == b[0] for a, b in pairwise(windows))
    assert windows_overlapping(kind, zone, end, start) == []


def _brute_rolling_peak(times: list[int], t: int) -> int:
    """In whole minutes: the most instants (t included) of any [a, a + 1440) holding t."""
    return max(sum(1 for x in [*times, t] if a <= x < a + 1440) for a in range(t - 1439, t + 1))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.integers(0, 4 * 1440), max_size=12), st.integers(0, 4 * 1440), st.integers(1, 6))
def test_rolling_peak_and_fit_match_every_window(times: list[int], t: int, limit: int) -> None:
    as_dt = [BASE + x * MINUTE for x in times]
    at = BASE + t * MINUTE
    peak = _brute_rolling_peak(times, t)
    assert peak_with(ROLLING_24H, "UTC", as_dt, at) == peak
    assert fits(ROLLING_24H, "UTC", limit, as_dt, at) == (peak <= limit)
    lo, hi = count_span(ROLLING_24H, "UTC", at)
    assert lo == at - DAY and hi == at + DAY


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(0, 4 * 1440), st.integers(-1439, 1439))
def test_placements_sharing_a_rolling_window_share_a_lock_key(t: int, delta: int) -> None:
    a, b = BASE + t * MINUTE, BASE + (t + delta) * MINUTE
    assert set(lock_keys(ROLLING_24H, "UTC", a)) & set(lock_keys(ROLLING_24H, "UTC", b))
    assert lock_keys(ROLLING_24H, "UTC", a) == sorted(lock_keys(ROLLING_24H, "UTC", a))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.integers(0, 2 * 1440), max_size=10), st.integers(1, 5))
def test_rolling_reset_is_the_first_instant_with_room(times: list[int], limit: int) -> None:
    now_minutes = 2 * 1440
    now = BASE + now_minutes * MINUTE
    reset = reset_after(ROLLING_24H, "UTC", limit, [BASE + x * MINUTE for x in times], now)

    def in_last_day(s: int) -> int:
        return sum(1 for x in times if s - 1440 < x <= min(s, now_minutes))

    if in_last_day(now_minutes) < limit:
        assert reset == now + DAY
        return
    s = int((reset - BASE) / MINUTE)
    assert reset > now and in_last_day(s) < limit <= in_last_day(s - 1)


def test_calendar_reset_is_the_next_local_midnight() -> None:
    now = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 22:30 on March 7 in Los Angeles (PST)
    assert reset_after(CALENDAR_DAY, "America/Los_Angeles", 3, [], now) == datetime(
        2026, 3, 8, 8, tzinfo=UTC
    )


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(UnknownWindowKind, match="HOURLY"):
        lock_keys("HOURLY", "UTC", BASE)
