"""The first free slot of a channel, found a local day at a time, nearest first.

Assign, Retry and SuggestPlacements want one slot, not the calendar of a whole horizon:
`first_free_slot` resolves each local date's slots once per (schedule, zone) and remembers
them (`_DayCalendar`), and reads the taken instants in growing windows only until a free slot
turns up. Its answer is the first element of `calendar.free_slots(calendar.slot_times(...))`
over the same horizon, with the same DST, blackout and daily-cap rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from allocator.calendar import (
    _MARGIN_DAYS,
    _as_utc,
    _blackouts,
    _in_any,
    _resolve,
    _times_by_weekday,
    zone,
)
from allocator.domain import PostingSchedule

# Taken instants counted against a day's cap reach this far beyond each end of the horizon.
TAKEN_MARGIN = timedelta(days=1)
# The first window of taken instants `first_free_slot` asks for, and how much longer each next
# one is: a channel booked weeks ahead costs one or two queries, not one per day. Four weeks:
# the instants arrive as one aggregated value (persistence.instants), so a longer first window
# costs little, while a second query costs a statement.
_FIRST_TAKEN_WINDOW = timedelta(days=28)
_WINDOW_GROWTH = 4
# Slack around the UTC span of a local date estimated from the offsets at its midnights and noon.
_DAY_SLACK = timedelta(hours=1)
# Cached days per schedule before the cache of that schedule starts over.
_MAX_CACHED_DAYS = 4096
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def first_free_slot(
    schedule: PostingSchedule,
    timezone: str,
    start: datetime,
    end: datetime,
    taken_between: Callable[[datetime, datetime], Iterable[int]],
    fits: Callable[[datetime], bool] | None = None,
) -> datetime | None:
    """The first free slot of `schedule` in [start, end), or None.

    `taken_between(lo, hi)` gives the live distributions' instants in [lo, hi) as instant keys
    (`instant_key`: a few hundred of them cost less as integers than as datetimes); it is called
    with consecutive windows from `start - TAKEN_MARGIN`, each longer than the one before,
    never past `end + TAKEN_MARGIN`, and only until a free slot is found. The answer equals
    `free_slots(slot_times(schedule, timezone, start, end), taken, timezone, cap)[0]` where
    `taken` are the instants in [start - TAKEN_MARGIN, end + TAKEN_MARGIN).

    With `fits`, a free slot for which `fits(slot)` is false (its quota window is full) is
    passed over: the answer is the first free slot that fits. `fits` is asked about free slots
    only, nearest first within a local day.
    """
    start_utc = _as_utc(start, "start")
    end_utc = _as_utc(end, "end")
    days = _day_calendar(schedule, timezone)
    cap = schedule.max_posts_per_day
    if start_utc >= end_utc or not days.has_slots:
        return None
    taken = _TakenReader(
        taken_between, start_utc - TAKEN_MARGIN, end_utc + TAKEN_MARGIN, days.tz, cap > 0
    )
    best: datetime | None = None
    # One day before the start's date: a fall-back across midnight can put a later instant on
    # an earlier date. Past the first free slot, a later date can still hold an earlier slot
    # only if its span begins before that slot.
    day = start_utc.astimezone(days.tz).date() - timedelta(days=1)
    while True:
        lowest, highest = days.span(day)
        if lowest >= end_utc or (best is not None and lowest >= best):
            return best
        taken.read_until(highest)
        if cap == 0 or taken.per_day[day] < cap:
            open_slots = [
                t
                for t, key in zip(days.slots_on(day), days.keys_on(day), strict=True)
                if start_utc <= t < end_utc and key not in taken.held
            ]
            # Under a cap, a day's places are its earliest free slots, as many as the cap
            # leaves: a later slot that fits a quota window is no place of that day.
            places = open_slots[: cap - taken.per_day[day]] if cap else open_slots
            free = next((t for t in places if fits is None or fits(t)), None)
            if free is not None and (best is None or free < best):
                best = free
        day += timedelta(days=1)


def instant_key(t: datetime) -> int:
    """An aware instant as the integer `first_free_slot`'s taken instants come in: microseconds
    since the Unix epoch."""
    return (t - _EPOCH) // _MICROSECOND


def key_instant(key: int) -> datetime:
    """The UTC instant of an `instant_key`."""
    return _EPOCH + timedelta(microseconds=key)


def first_taken_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window of the first `taken_between` call of `first_free_slot(..., start, end, ...)`:
    a caller may fetch it ahead, together with other reads."""
    low = _as_utc(start, "start") - TAKEN_MARGIN
    return low, min(low + _FIRST_TAKEN_WINDOW, _as_utc(end, "end") + TAKEN_MARGIN)


def day_slots(schedule: PostingSchedule, timezone: str, day: date) -> tuple[datetime, ...]:
    """The slot instants (UTC, sorted) whose local date is `day`, blackouts removed, no cap."""
    return _day_calendar(schedule, timezone).slots_on(day)


class _TakenReader:
    """Taken instants read window by window, with the count of each local day so far."""

    def __init__(
        self,
        taken_between: Callable[[datetime, datetime], Iterable[int]],
        low: datetime,
        high: datetime,
        tz: ZoneInfo,
        count_days: bool,
    ) -> None:
        self._taken_between = taken_between
        self._count_days = count_days
        self._read_to = low
        self._high = high
        self._window = _FIRST_TAKEN_WINDOW
        self._tz = tz
        self.held: set[int] = set()
        self.per_day: Counter[date] = Counter()

    def read_until(self, t: datetime) -> None:
        """Reads every taken instant before `t` (within the limits) not read yet."""
        target = min(t, self._high)
        while self._read_to < target:
            upto = min(max(self._read_to + self._window, target), self._high)
            new = set(self._taken_between(self._read_to, upto)) - self.held
            self.held |= new
            # Only a daily cap needs the local date (the costly part per instant).
            if self._count_days:
                self.per_day.update(key_instant(k).astimezone(self._tz).date() for k in new)
            self._read_to = upto
            self._window *= _WINDOW_GROWTH


class _DayCalendar:
    """One schedule in one zone, resolved a local date at a time and remembered.

    Shared by every thread of a server: the dicts only ever gain entries that any thread would
    compute identically, so a race costs a duplicate computation, never a wrong answer.
    """

    def __init__(self, schedule: PostingSchedule, timezone: str) -> None:
        self.tz = zone(timezone)
        self._times_by_weekday = _times_by_weekday(schedule)
        self._blackouts = _blackouts(schedule.blackouts)
        self.has_slots = bool(self._times_by_weekday)
        self._declared: dict[date, tuple[datetime, ...]] = {}
        self._days: dict[date, tuple[datetime, ...]] = {}
        self._keys: dict[date, tuple[int, ...]] = {}
        self._spans: dict[date, tuple[datetime, datetime]] = {}

    def span(self, day: date) -> tuple[datetime, datetime]:
        """UTC bounds that enclose every instant whose local date is `day`."""
        found = self._spans.get(day)
        if found is None:
            midnight = datetime.combine(day, time())
            walls = (midnight, midnight + timedelta(hours=12), midnight + timedelta(days=1))
            # The offsets in force around the day's midnights and noon, before and after any
            # transition at those walls (fold 0 and 1), bound the day's offsets.
            offsets = [
                wall.replace(tzinfo=self.tz, fold=fold).utcoffset() or timedelta()
                for wall in walls
                for fold in (0, 1)
            ]
            low = (walls[0] - max(offsets) - _DAY_SLACK).replace(tzinfo=UTC)
            high = (walls[2] - min(offsets) + _DAY_SLACK).replace(tzinfo=UTC)
            found = self._spans[day] = (low, high)
        return found

    def slots_on(self, day: date) -> tuple[datetime, ...]:
        """The non-blackout slot instants whose local date is `day`, sorted."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) > _MAX_CACHED_DAYS:
                self._days.clear()
                self._keys.clear()
                self._declared.clear()
                self._spans.clear()
            instants = {
                t
                for k in range(-_MARGIN_DAYS, _MARGIN_DAYS + 1)
                for t in self._declared_on(day + timedelta(days=k))
                if t.astimezone(self.tz).date() == day and not _in_any(t, self._blackouts)
            }
            found = self._days[day] = tuple(sorted(instants))
        return found

    def keys_on(self, day: date) -> tuple[int, ...]:
        """The `instant_key` of each of `slots_on(day)`, in the same order."""
        found = self._keys.get(day)
        if found is None:
            found = self._keys[day] = tuple(instant_key(t) for t in self.slots_on(day))
        return found

    def _declared_on(self, day: date) -> tuple[datetime, ...]:
        """The instants of the local times declared for `day` (which may fall on other dates)."""
        found = self._declared.get(day)
        if found is None:
            times = self._times_by_weekday.get(day.isoweekday(), ())
            found = self._declared[day] = tuple(
                _resolve(datetime.combine(day, t), self.tz) for t in times
            )
        return found


@lru_cache(maxsize=1024)
def _day_calendar(schedule: PostingSchedule, timezone: str) -> _DayCalendar:
    return _DayCalendar(schedule, timezone)
