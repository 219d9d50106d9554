"""`first_free_slot` against the full-horizon computation it replaces, on random schedules,
zones and taken sets, and the windows in which it asks for taken instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.calendar import free_slots, parse_local_time, slot_times
from allocator.domain import PostingSchedule, WeeklySlot
from allocator.free_slot import (
    TAKEN_MARGIN,
    day_slots,
    first_free_slot,
    first_taken_window,
    instant_key,
)
from tests.unit.allocator.test_calendar import DAY, cases

EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)


def _full_horizon(
    schedule: PostingSchedule, zone: str, start: datetime, end: datetime, taken: list[datetime]
) -> datetime | None:
    """The computation Assign ran before: every slot of the horizon, then the free ones."""
    counted = [t for t in taken if start - TAKEN_MARGIN <= t < end + TAKEN_MARGIN]
    free = free_slots(
        slot_times(schedule, zone, start, end), counted, zone, schedule.max_posts_per_day
    )
    return free[0] if free else None


class _Recorder:
    """A taken-instants source that remembers the windows it was asked for."""

    def __init__(self, taken: list[datetime]) -> None:
        self.taken = taken
        self.windows: list[tuple[datetime, datetime]] = []

    def __call__(self, lo: datetime, hi: datetime) -> list[int]:
        self.windows.append((lo, hi))
        return [instant_key(t) for t in self.taken if lo <= t < hi]


@st.composite
def taken_cases(draw: st.DrawFn) -> tuple[str, PostingSchedule, datetime, datetime, list[datetime]]:
    zone, schedule, start, end = draw(cases())
    span = int((end - start).total_seconds()) + 2 * DAY
    slots = slot_times(schedule, zone, start - timedelta(days=1), end + timedelta(days=1))
    # Mostly real slots (full days, the cap), some off-calendar instants (forced posts).
    on_calendar = draw(st.lists(st.sampled_from(slots), max_size=40)) if slots else []
    off_calendar = [
        start + timedelta(seconds=s - DAY) for s in draw(st.lists(st.integers(0, span), max_size=5))
    ]
    return zone, schedule, start, end, on_calendar + off_calendar


@settings(max_examples=300, deadline=None, database=None)
@given(taken_cases())
def test_first_free_slot_matches_the_full_horizon(
    case: tuple[str, PostingSchedule, datetime, datetime, list[datetime]],
) -> None:
    zone, schedule, start, end, taken = case
    source = _Recorder(taken)
    got = first_free_slot(schedule, zone, start, end, source)
    assert got == _full_horizon(schedule, zone, start, end, taken)
    # The windows are consecutive, start a margin before the horizon and stay within it.
    for (_, hi), (lo, _) in zip(source.windows, source.windows[1:], strict=False):
        assert hi == lo
    if source.windows:
        assert source.windows[0] == first_taken_window(start, end)
        assert source.windows[-1][1] <= end + TAKEN_MARGIN


def _hourly(cap: int = 0) -> PostingSchedule:
    return PostingSchedule(
        slots=tuple(WeeklySlot(EVERY_DAY, parse_local_time(f"{h:02d}:00")) for h in range(24)),
        max_posts_per_day=cap,
    )


def test_an_empty_channel_needs_one_window() -> None:
    start = datetime(2024, 3, 30, 22, 30, tzinfo=UTC)
    source = _Recorder([])
    got = first_free_slot(_hourly(), "Europe/Berlin", start, start + timedelta(days=62), source)
    assert got == datetime(2024, 3, 30, 23, 0, tzinfo=UTC)
    assert len(source.windows) == 1


def test_full_days_are_skipped_with_growing_windows() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    taken = slot_times(_hourly(), "UTC", start, start + timedelta(days=10))
    source = _Recorder(taken)
    got = first_free_slot(_hourly(), "UTC", start, start + timedelta(days=62), source)
    assert got == start + timedelta(days=10)
    assert len(source.windows) <= 4


def test_a_full_cap_moves_to_the_next_day() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    taken = [datetime(2024, 1, 1, 20, 17, tzinfo=UTC)]  # a forced post counts toward the cap
    got = first_free_slot(_hourly(cap=1), "UTC", start, start + timedelta(days=3), _Recorder(taken))
    assert got == datetime(2024, 1, 2, tzinfo=UTC)


def test_no_free_slot_in_the_horizon() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=2)
    taken = slot_times(_hourly(), "UTC", start, end)
    assert first_free_slot(_hourly(), "UTC", start, end, _Recorder(taken)) is None
    assert first_free_slot(PostingSchedule(), "UTC", start, end, _Recorder([])) is None


def test_day_slots_are_the_local_date_s_instants() -> None:
    day = datetime(2024, 3, 31).date()  # Berlin springs forward: 23 local hours
    got = day_slots(_hourly(), "Europe/Berlin", day)
    assert len(got) == 23
    assert got[0] == datetime(2024, 3, 30, 23, 0, tzinfo=UTC)


@settings(max_examples=300, deadline=None, database=None)
@given(taken_cases(), st.sets(st.integers(0, 23), max_size=24), st.integers(0, 6))
def test_first_free_slot_passes_over_the_slots_that_do_not_fit(
    case: tuple[str, PostingSchedule, datetime, datetime, list[datetime]],
    full_hours: set[int],
    full_weekday: int,
) -> None:
    """With `fits` (a quota window that is full), the answer is the first free slot of the
    full horizon that fits, and `fits` is asked about free slots only."""
    zone, schedule, start, end, taken = case

    def fits(t: datetime) -> bool:
        asked.append(t)
        return t.hour not in full_hours and t.weekday() != full_weekday

    asked: list[datetime] = []
    got = first_free_slot(schedule, zone, start, end, _Recorder(taken), fits)
    counted = [t for t in taken if start - TAKEN_MARGIN <= t < end + TAKEN_MARGIN]
    free = free_slots(
        slot_times(schedule, zone, start, end), counted, zone, schedule.max_posts_per_day
    )
    # Under a daily cap, a day's places are its first free slots (`free` keeps only those): a
    # later one that fits is no place of that day.
    expected = next(
        (t for t in free if t.hour not in full_hours and t.weekday() != full_weekday), None
    )
    assert got == expected
    assert all(t not in set(taken) for t in asked)
    assert got is None or (got.hour not in full_hours and got.weekday() != full_weekday)


def test_a_full_quota_window_moves_the_slot_to_the_next_day() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    full_day = start.date()
    got = first_free_slot(
        _hourly(),
        "UTC",
        start,
        start + timedelta(days=3),
        _Recorder([]),
        lambda t: t.date() != full_day,
    )
    assert got == datetime(2024, 1, 2, tzinfo=UTC)
