"""The slot calendar: DST examples, input errors, and property tests against an oracle.

The oracle resolves local times without zoneinfo's fold machinery: it samples the zone's UTC
offset hourly, bisects each change to the second, and solves `wall = instant + offset` piece by
piece. It shares no code with `allocator.calendar`.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.calendar import (
    InvalidLocalTime,
    InvalidSchedule,
    NaiveDatetime,
    UnknownTimezone,
    free_slots,
    local_day,
    parse_local_time,
    slot_times,
    zone,
)
from allocator.domain import PostingSchedule, TimeWindow, WeeklySlot

EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def daily(*times: str, cap: int = 0, blackouts: tuple[TimeWindow, ...] = ()) -> PostingSchedule:
    return PostingSchedule(
        slots=tuple(WeeklySlot(EVERY_DAY, parse_local_time(t)) for t in times),
        max_posts_per_day=cap,
        blackouts=blackouts,
    )


def on_day(schedule: PostingSchedule, zone: str, day: date) -> list[datetime]:
    """The slots of one local day (horizon = that day's local midnight to the next)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return slot_times(schedule, zone, start, end)


# Parsing and input errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("00:00", time(0, 0)), ("07:05", time(7, 5)), ("23:59", time(23, 59))]
)
def test_parse_local_time(text: str, expected: time) -> None:
    assert parse_local_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "25:00",
        "24:00",
        "7:5",
        "07:5",
        "7:05",
        "12:60",
        "12:00:00",
        " 12:00",
        "1a:00",
        "\u0661\u0662:\u0660\u0660",  # Arabic-Indic digits
        "12-00",
    ],
)
def test_parse_local_time_rejects(text: str) -> None:
    with pytest.raises(InvalidLocalTime) as error:
        parse_local_time(text, field="schedule.slots[0].local_time")
    assert error.value.field == "schedule.slots[0].local_time"
    assert error.value.value == text
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize("zone", ["Nope/Zone", "", "../etc/passwd", "utc "])
def test_unknown_timezone(zone: str) -> None:
    with pytest.raises(UnknownTimezone) as error:
        slot_times(daily("12:00"), zone, utc(2024, 1, 1), utc(2024, 1, 2))
    assert (error.value.field, error.value.value) == ("timezone", zone)
    with pytest.raises(UnknownTimezone):
        local_day(utc(2024, 1, 1), zone)


def test_naive_datetimes_are_rejected_by_name() -> None:
    with pytest.raises(NaiveDatetime) as error:
        slot_times(daily("12:00"), "UTC", datetime(2024, 1, 1), utc(2024, 1, 2))
    assert error.value.field == "start"
    with pytest.raises(NaiveDatetime) as error:
        slot_times(daily("12:00"), "UTC", utc(2024, 1, 1), datetime(2024, 1, 2))
    assert error.value.field == "end"
    naive_blackout = daily("12:00", blackouts=(TimeWindow(datetime(2024, 1, 1), utc(2024, 1, 2)),))
    with pytest.raises(NaiveDatetime) as error:
        slot_times(naive_blackout, "UTC", utc(2024, 1, 1), utc(2024, 1, 2))
    assert error.value.field == "schedule.blackouts[0].start"
    with pytest.raises(NaiveDatetime):
        free_slots([utc(2024, 1, 1)], [datetime(2024, 1, 1)], "UTC", 0)


def test_bad_weekday_and_cap_are_rejected() -> None:
    with pytest.raises(InvalidSchedule) as error:
        slot_times(
            PostingSchedule(slots=(WeeklySlot((1, 8), time(12)),)),
            "UTC",
            utc(2024, 1, 1),
            utc(2024, 1, 2),
        )
    assert (error.value.field, error.value.value) == ("schedule.slots[0].days", 8)
    with pytest.raises(InvalidSchedule):
        slot_times(daily("12:00", cap=-1), "UTC", utc(2024, 1, 1), utc(2024, 1, 2))


# Examples --------------------------------------------------------------------------------------


def test_weekly_times_in_the_channel_zone() -> None:
    schedule = PostingSchedule(
        slots=(WeeklySlot((1, 3), time(9, 0)), WeeklySlot((3,), time(18, 30)))
    )
    # 2024-01-01 is a Monday; Europe/Berlin is UTC+1 in winter.
    got = slot_times(schedule, "Europe/Berlin", utc(2024, 1, 1), utc(2024, 1, 8))
    assert got == [utc(2024, 1, 1, 8), utc(2024, 1, 3, 8), utc(2024, 1, 3, 17, 30)]
    assert all(t.tzinfo is UTC for t in got)


def test_horizon_is_half_open_and_accepts_any_aware_zone() -> None:
    schedule = daily("12:00")
    assert slot_times(schedule, "UTC", utc(2024, 1, 1, 12), utc(2024, 1, 2, 12)) == [
        utc(2024, 1, 1, 12)
    ]
    tokyo = ZoneInfo("Asia/Tokyo")
    start = datetime(2024, 1, 1, 21, tzinfo=tokyo)  # 12:00 UTC
    assert slot_times(schedule, "UTC", start, start + timedelta(hours=1)) == [utc(2024, 1, 1, 12)]
    assert slot_times(schedule, "UTC", utc(2024, 1, 2), utc(2024, 1, 1)) == []
    assert slot_times(PostingSchedule(), "UTC", utc(2024, 1, 1), utc(2025, 1, 1)) == []


def test_berlin_spring_forward_runs_skipped_times_when_the_gap_ends() -> None:
    # 2024-03-31: 02:00 CET -> 03:00 CEST (01:00 UTC).
    got = on_day(
        daily("01:30", "02:00", "02:30", "03:00", "03:30"), "Europe/Berlin", date(2024, 3, 31)
    )
    assert got == [utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1, 0), utc(2024, 3, 31, 1, 30)]


def test_berlin_fall_back_runs_repeated_times_once_at_the_first_occurrence() -> None:
    # 2024-10-27: 03:00 CEST -> 02:00 CET (01:00 UTC); 02:30 happens twice.
    got = on_day(daily("02:30", "03:30"), "Europe/Berlin", date(2024, 10, 27))
    assert got == [utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 2, 30)]


def test_new_york_spring_forward_and_fall_back() -> None:
    # 2024-03-10: 02:00 EST -> 03:00 EDT (07:00 UTC).
    spring = on_day(daily("02:30", "12:00"), "America/New_York", date(2024, 3, 10))
    assert spring == [utc(2024, 3, 10, 7), utc(2024, 3, 10, 16)]
    # 2024-11-03: 02:00 EDT -> 01:00 EST; 01:30 EDT is 05:30 UTC, 01:30 EST (06:30 UTC) is skipped.
    fall = on_day(daily("01:30", "12:00"), "America/New_York", date(2024, 11, 3))
    assert fall == [utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 17)]


def test_half_hour_dst_on_lord_howe() -> None:
    # 2024-10-06: 02:00 -> 02:30 (+10:30 -> +11); a 02:15 slot runs at 02:30 local.
    got = on_day(daily("02:15"), "Australia/Lord_Howe", date(2024, 10, 6))
    assert got == [utc(2024, 10, 5, 15, 30)]


def test_a_skipped_day_runs_its_slots_when_the_day_after_begins() -> None:
    # Samoa skipped 2011-12-30 entirely: 23:59:59 on the 29th (-10) was followed by the 31st.
    got = slot_times(daily("10:00"), "Pacific/Apia", utc(2011, 12, 29), utc(2011, 12, 31, 12))
    assert got == [utc(2011, 12, 29, 20), utc(2011, 12, 30, 10), utc(2011, 12, 30, 20)]
    tz = ZoneInfo("Pacific/Apia")
    assert [t.astimezone(tz).replace(tzinfo=None) for t in got] == [
        datetime(2011, 12, 29, 10),
        datetime(2011, 12, 31, 0),
        datetime(2011, 12, 31, 10),
    ]


def test_blackouts_then_daily_cap() -> None:
    blackout = TimeWindow(utc(2024, 1, 1, 7), utc(2024, 1, 1, 9))
    schedule = daily("08:00", "12:00", "18:00", cap=2, blackouts=(blackout,))
    got = slot_times(schedule, "UTC", utc(2024, 1, 1), utc(2024, 1, 3))
    # Day 1 loses 08:00 to the blackout, so the cap keeps 12:00 and 18:00.
    assert got == [
        utc(2024, 1, 1, 12),
        utc(2024, 1, 1, 18),
        utc(2024, 1, 2, 8),
        utc(2024, 1, 2, 12),
    ]


def test_blackout_end_is_exclusive() -> None:
    blackout = TimeWindow(utc(2024, 1, 1, 8), utc(2024, 1, 1, 12))
    got = slot_times(
        daily("08:00", "12:00", blackouts=(blackout,)), "UTC", utc(2024, 1, 1), utc(2024, 1, 2)
    )
    assert got == [utc(2024, 1, 1, 12)]


def test_daily_cap_counts_local_days_and_the_horizon_only() -> None:
    # 23:00 and 01:00 in Kolkata (+05:30) are on different local days.
    schedule = daily("01:00", "09:00", "23:00", cap=1)
    got = slot_times(schedule, "Asia/Kolkata", utc(2024, 1, 1), utc(2024, 1, 3))
    tz = ZoneInfo("Asia/Kolkata")
    assert Counter(t.astimezone(tz).date() for t in got).most_common(1)[0][1] == 1
    # A horizon starting after the day's first slot still gets a slot that day.
    late = slot_times(daily("08:00", "12:00", cap=1), "UTC", utc(2024, 1, 1, 10), utc(2024, 1, 2))
    assert late == [utc(2024, 1, 1, 12)]


def test_local_day() -> None:
    assert local_day(utc(2024, 1, 1, 23), "Asia/Tokyo") == date(2024, 1, 2)
    assert local_day(utc(2024, 1, 1, 3), "America/New_York") == date(2023, 12, 31)


# free_slots ------------------------------------------------------------------------------------


def test_free_slots_removes_taken_instants() -> None:
    slots = [utc(2024, 1, 1, 8), utc(2024, 1, 1, 12), utc(2024, 1, 2, 8)]
    assert free_slots(slots, [utc(2024, 1, 1, 12)], "UTC", 0) == [slots[0], slots[2]]


def test_free_slots_keeps_the_earliest_within_the_remaining_cap() -> None:
    slots = [utc(2024, 1, 1, h) for h in (8, 12, 16, 20)] + [utc(2024, 1, 2, 8)]
    # One post at 12:00 plus one forced off-calendar post at 09:13: with a cap of 3, one is left.
    taken = [utc(2024, 1, 1, 12), utc(2024, 1, 1, 9, 13)]
    assert free_slots(slots, taken, "UTC", 3) == [utc(2024, 1, 1, 8), utc(2024, 1, 2, 8)]
    # A day already at (or over) its cap keeps nothing.
    assert free_slots(slots, taken, "UTC", 2) == [utc(2024, 1, 2, 8)]
    assert free_slots(slots, taken, "UTC", 1) == [utc(2024, 1, 2, 8)]


def test_free_slots_counts_taken_instants_by_local_day() -> None:
    slots = [utc(2024, 1, 1, 14)]  # 2024-01-01 23:00 in Tokyo
    assert free_slots(slots, [utc(2024, 1, 1, 16)], "Asia/Tokyo", 1) == slots  # Jan 2, 01:00
    assert free_slots(slots, [utc(2024, 1, 1, 1)], "Asia/Tokyo", 1) == []  # Jan 1, 10:00
    assert free_slots(slots, [utc(2023, 12, 31, 16)], "Asia/Tokyo", 1) == []  # Jan 1, 01:00


def test_free_slots_matches_instants_across_zones() -> None:
    slot = utc(2024, 1, 1, 12)
    same_instant = slot.astimezone(ZoneInfo("America/New_York"))
    assert free_slots([slot], [same_instant], "UTC", 0) == []


# Property tests --------------------------------------------------------------------------------

NAMED_ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "America/Santiago",
    "Europe/London",
    "Pacific/Apia",
    "UTC",
]
ALL_ZONES = sorted(available_timezones())
DAY = 86_400


def _offset(tz: ZoneInfo, second: int) -> int:
    offset = datetime.fromtimestamp(second, tz).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def _first_change(tz: ZoneInfo, low: int, high: int) -> int:
    """The first second in (low, high] whose offset differs from low's (one change assumed)."""
    before = _offset(tz, low)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(tz, middle) == before:
            low = middle
        else:
            high = middle
    return high


@lru_cache(maxsize=4096)
def _transitions(zone: str, year: int) -> tuple[int, ...]:
    tz = ZoneInfo(zone)
    first = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    found = []
    for second in range(first, first + 366 * DAY, 6 * 3600):
        if _offset(tz, second) != _offset(tz, second + 6 * 3600):
            found.append(_first_change(tz, second, second + 6 * 3600))
    return tuple(found)


class _Oracle:
    """A zone's offsets over [low, high] as pieces, and local times solved piece by piece."""

    def __init__(self, zone: str, low: int, high: int) -> None:
        self.tz = ZoneInfo(zone)
        self.starts = [low]
        self.offsets = [_offset(self.tz, low)]
        for second in range(low, high, 3600):
            if _offset(self.tz, second) != _offset(self.tz, second + 3600):
                change = _first_change(self.tz, second, second + 3600)
                self.starts.append(change)
                self.offsets.append(_offset(self.tz, change))
        self.starts.append(high)

    def _piece(self, second: int) -> int:
        return max(i for i in range(len(self.offsets)) if self.starts[i] <= second)

    def local(self, second: int) -> datetime:
        return datetime.fromtimestamp(second + self.offsets[self._piece(second)], UTC).replace(
            tzinfo=None
        )

    def resolve(self, wall: datetime) -> int:
        """First instant with this wall time, else the end of the gap that skips it."""
        naive = int(wall.replace(tzinfo=UTC).timestamp())
        found = [
            naive - offset
            for i, offset in enumerate(self.offsets)
            if self.starts[i] <= naive - offset < self.starts[i + 1]
        ]
        if found:
            return min(found)
        for i in range(1, len(self.offsets)):
            change = self.starts[i]
            if change + self.offsets[i - 1] <= naive < change + self.offsets[i]:
                return change
        raise AssertionError(f"{wall} is outside the oracle's range")


def _expected(zone: str, schedule: PostingSchedule, start: datetime, end: datetime) -> list[int]:
    low, high = int(start.timestamp()), int(end.timestamp())
    oracle = _Oracle(zone, low - 4 * DAY, high + 4 * DAY)
    first, last = oracle.local(low).date(), oracle.local(high).date()
    instants = set()
    day = first - timedelta(days=2)
    while day <= last + timedelta(days=2):
        for slot in schedule.slots:
            if day.isoweekday() in slot.days:
                instants.add(oracle.resolve(datetime.combine(day, slot.local_time)))
        day += timedelta(days=1)
    blackouts = [(int(b.start.timestamp()), int(b.end.timestamp())) for b in schedule.blackouts]
    kept = sorted(
        t for t in instants if low <= t < high and not any(s <= t < e for s, e in blackouts)
    )
    if schedule.max_posts_per_day:
        per_day: Counter[date] = Counter()
        capped = []
        for t in kept:
            per_day[oracle.local(t).date()] += 1
            if per_day[oracle.local(t).date()] <= schedule.max_posts_per_day:
                capped.append(t)
        kept = capped
    return kept


local_times = st.builds(
    time,
    hour=st.one_of(st.integers(0, 3), st.integers(0, 23)),
    minute=st.one_of(st.sampled_from([0, 30]), st.integers(0, 59)),
)
weekly_slots = st.builds(
    WeeklySlot,
    days=st.sets(st.integers(1, 7), min_size=1).map(lambda days: tuple(sorted(days))),
    local_time=local_times,
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, PostingSchedule, datetime, datetime]:
    zone = draw(st.one_of(st.sampled_from(NAMED_ZONES), st.sampled_from(ALL_ZONES)))
    year = draw(st.integers(1990, 2040))
    transitions = _transitions(zone, year)
    if transitions and draw(st.integers(0, 3)) > 0:
        anchor = draw(st.sampled_from(transitions)) - draw(st.integers(0, 3 * DAY))
    else:
        anchor = int(datetime(year, 1, 1, tzinfo=UTC).timestamp()) + draw(st.integers(0, 365 * DAY))
    start = datetime.fromtimestamp(anchor, UTC)
    end = start + timedelta(seconds=draw(st.integers(0, 8 * DAY)))
    blackouts = draw(
        st.lists(
            st.tuples(st.integers(-DAY, 8 * DAY), st.integers(0, 2 * DAY)).map(
                lambda pair: TimeWindow(
                    start + timedelta(seconds=pair[0]), start + timedelta(seconds=sum(pair))
                )
            ),
            max_size=3,
        )
    )
    schedule = PostingSchedule(
        slots=tuple(draw(st.lists(weekly_slots, max_size=4))),
        max_posts_per_day=draw(st.integers(0, 4)),
        blackouts=tuple(blackouts),
    )
    return zone, schedule, start, end


@settings(max_examples=200, deadline=None, database=None)
@given(cases())
def test_slot_times_match_the_oracle(case: tuple[str, PostingSchedule, datetime, datetime]) -> None:
    zone, schedule, start, end = case
    got = slot_times(schedule, zone, start, end)
    assert [int(t.timestamp()) for t in got] == _expected(zone, schedule, start, end)


@settings(max_examples=200, deadline=None, database=None)
@given(cases())
def test_slot_times_properties(case: tuple[str, PostingSchedule, datetime, datetime]) -> None:
    zone, schedule, start, end = case
    tz = ZoneInfo(zone)
    got = slot_times(schedule, zone, start, end)
    assert got == sorted(set(got))
    declared = {(d, slot.local_time) for slot in schedule.slots for d in slot.days}
    for t in got:
        assert t.utcoffset() == timedelta(0)
        assert start <= t < end
        assert not any(b.start <= t < b.end for b in schedule.blackouts)
        local = t.astimezone(tz)
        if (local.isoweekday(), local.time()) in declared:
            assert local.fold == 0, "a repeated local time runs at its first occurrence"
            continue
        # Otherwise t must end a DST gap that skipped a declared time.
        before = (t - timedelta(seconds=1)).astimezone(tz).utcoffset()
        after = local.utcoffset()
        assert before is not None and after is not None and after > before, t
        wall_before = (t + before).replace(tzinfo=None)
        wall_after = (t + after).replace(tzinfo=None)
        assert any(
            wall_before <= datetime.combine(day, local_time) < wall_after
            for day in (wall_before.date(), wall_after.date())
            for weekday, local_time in declared
            if day.isoweekday() == weekday
        ), t
    if schedule.max_posts_per_day:
        per_day = Counter(t.astimezone(tz).date() for t in got)
        assert max(per_day.values(), default=0) <= schedule.max_posts_per_day


@settings(max_examples=200, deadline=None, database=None)
@given(
    zone=st.sampled_from(NAMED_ZONES),
    slots=st.lists(st.integers(0, 5 * DAY // 60), max_size=30),
    taken=st.lists(st.integers(0, 5 * DAY // 60), max_size=10),
    cap=st.integers(0, 4),
)
def test_free_slots_properties(zone: str, slots: list[int], taken: list[int], cap: int) -> None:
    origin = utc(2024, 3, 28)
    slot_set = [origin + timedelta(minutes=m) for m in slots]
    taken_set = [origin + timedelta(minutes=m) for m in taken]
    got = free_slots(slot_set, taken_set, zone, cap)
    tz = ZoneInfo(zone)
    free = sorted(set(slot_set) - set(taken_set))
    assert got == sorted(set(got))
    assert set(got) <= set(free)
    if cap == 0:
        assert got == free
        return
    taken_per_day = Counter(t.astimezone(tz).date() for t in set(taken_set))
    for day in {t.astimezone(tz).date() for t in free}:
        free_today = [t for t in free if t.astimezone(tz).date() == day]
        allowed = max(0, cap - taken_per_day[day])
        assert [t for t in got if t.astimezone(tz).date() == day] == free_today[:allowed]


@pytest.mark.parametrize("name", ["America", "x" * 300, "/etc/passwd", "../UTC", "Europe/Berlin\n"])
def test_names_that_are_no_zone_are_unknown_timezones(name):
    with pytest.raises(UnknownTimezone):
        zone(name)
