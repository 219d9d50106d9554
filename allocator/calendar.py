"""The slot calendar: the UTC instants at which a channel posts, from its weekly local times.

A channel's `PostingSchedule` lists local wall-clock times per ISO weekday in the channel's
IANA timezone. `slot_times` turns them into UTC instants over a horizon [start, end):

1. Each local date's declared times are resolved to instants with cron's DST rule:
   - a time that does not exist (skipped by a spring-forward gap) runs at the instant the gap
     ends, i.e. the transition instant itself: with clocks jumping 02:00 -> 03:00, a 02:30 slot
     runs at 03:00 local; on Lord Howe (02:00 -> 02:30) a 02:15 slot runs at 02:30 local;
   - a time that occurs twice (fall-back) runs once, at its first occurrence (fold=0);
   - two declared times that resolve to the same instant (e.g. 02:30 and 03:00 on the day
     above) give one slot.
2. Instants outside the horizon [start, end) and inside a blackout window (UTC, half-open
   [start, end)) are removed.
3. With `max_posts_per_day` > 0, only the first N remaining slots of each local calendar day
   (the date of the slot instant in the channel's zone) are kept. The cap counts the slots
   inside the horizon only: a run that starts at noon still gets the afternoon slots. Posts
   that did happen earlier that day are live distributions, which `free_slots` counts against
   the same cap.
4. The result is sorted and unique.

`free_slots` then removes the slots that live distributions already hold, and honours the
daily cap against the live distributions of each local day.

`allocator.free_slot.first_free_slot` finds the first of those free slots without resolving
the whole horizon, a local day at a time, with these same rules.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from allocator.domain import PostingSchedule, TimeWindow

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# Local dates resolved beyond each end of the horizon: a DST gap can shift a slot past midnight,
# and a fall-back across midnight can put an instant on the local date before the horizon's.
_MARGIN_DAYS = 2


class CalendarError(ValueError):
    """Bad calendar input; `field` names the offending argument or field, `value` its value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}: {reason} (got {value!r})")
        self.field = field
        self.value = value


class UnknownTimezone(CalendarError):
    """The timezone is not an IANA zone name known to zoneinfo."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(field, value, "unknown IANA timezone")


class NaiveDatetime(CalendarError):
    """A datetime without a timezone where an instant is required."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(field, value, "datetime must be timezone-aware")


class InvalidLocalTime(CalendarError):
    """A local time that is not strict HH:MM between 00:00 and 23:59."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(field, value, "local time must be HH:MM between 00:00 and 23:59")


class InvalidSchedule(CalendarError):
    """A posting schedule field out of range (weekday outside 1..7, negative daily cap)."""


def parse_local_time(text: str, field: str = "local_time") -> time:
    """Parse strict "HH:MM" (two digits each, 00:00..23:59) into a naive `time`."""
    matched = _HH_MM.fullmatch(text)
    if matched is None:
        raise InvalidLocalTime(field, text)
    return time(int(matched.group(1)), int(matched.group(2)))


def zone(timezone: str, field: str = "timezone") -> ZoneInfo:
    """The `ZoneInfo` for an IANA name; raises `UnknownTimezone` for anything else."""
    try:
        return _zone(timezone)
    # OSError: a name that is a directory of the tz database ("America") or too long for a path.
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise UnknownTimezone(field, timezone) from None


@lru_cache(maxsize=1024)
def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


def local_day(t: datetime, timezone: str) -> date:
    """The channel-local calendar date of the instant `t`."""
    return _as_utc(t, "t").astimezone(zone(timezone)).date()


def slot_times(
    schedule: PostingSchedule, timezone: str, start: datetime, end: datetime
) -> list[datetime]:
    """Every posting instant of `schedule` in [start, end), in UTC, sorted and unique.

    See the module docstring for the DST rule and the order of blackouts and daily cap.
    """
    tz = zone(timezone)
    start_utc = _as_utc(start, "start")
    end_utc = _as_utc(end, "end")
    times_by_weekday = _times_by_weekday(schedule)
    blackouts = _blackouts(schedule.blackouts)
    if start_utc >= end_utc or not times_by_weekday:
        return []

    first = start_utc.astimezone(tz).date() - timedelta(days=_MARGIN_DAYS)
    last = end_utc.astimezone(tz).date() + timedelta(days=_MARGIN_DAYS)
    instants: set[datetime] = set()
    day = first
    while day <= last:
        for local_time in times_by_weekday.get(day.isoweekday(), ()):
            instants.add(_resolve(datetime.combine(day, local_time), tz))
        day += timedelta(days=1)

    slots = sorted(t for t in instants if start_utc <= t < end_utc and not _in_any(t, blackouts))
    if schedule.max_posts_per_day > 0:
        slots = _first_per_local_day(slots, tz, schedule.max_posts_per_day)
    return slots


def free_slots(
    all_slots: Iterable[datetime],
    taken: Iterable[datetime],
    timezone: str,
    max_posts_per_day: int,
) -> list[datetime]:
    """The slots not held by a live distribution, within each local day's remaining cap.

    `taken` are the scheduled instants of the channel's live distributions, on the calendar or
    not (a forced off-calendar post still counts toward its day). A local day with m taken
    instants keeps at most `max_posts_per_day - m` of its free slots, the earliest ones; a cap
    of 0 means no cap.
    """
    if max_posts_per_day < 0:
        raise InvalidSchedule("max_posts_per_day", max_posts_per_day, "must be >= 0")
    tz = zone(timezone)
    held = {_as_utc(t, "taken") for t in taken}
    candidates = sorted({_as_utc(t, "all_slots") for t in all_slots} - held)
    if max_posts_per_day == 0:
        return candidates
    taken_per_day = Counter(t.astimezone(tz).date() for t in held)
    kept_per_day: Counter[date] = Counter()
    result: list[datetime] = []
    for t in candidates:
        day = t.astimezone(tz).date()
        if taken_per_day[day] + kept_per_day[day] < max_posts_per_day:
            kept_per_day[day] += 1
            result.append(t)
    return result


def _as_utc(t: datetime, field: str) -> datetime:
    """`t` converted to UTC; naive datetimes are rejected rather than guessed."""
    if t.tzinfo is UTC:
        return t
    if t.tzinfo is None or t.utcoffset() is None:
        raise NaiveDatetime(field, t)
    return t.astimezone(UTC)


def _times_by_weekday(schedule: PostingSchedule) -> dict[int, tuple[time, ...]]:
    """ISO weekday -> its distinct local times (naive, fold=0), validated."""
    if schedule.max_posts_per_day < 0:
        raise InvalidSchedule(
            "schedule.max_posts_per_day", schedule.max_posts_per_day, "must be >= 0"
        )
    by_day: defaultdict[int, set[time]] = defaultdict(set)
    for index, slot in enumerate(schedule.slots):
        # A tzinfo or fold on the declared time would silently change its meaning.
        local_time = slot.local_time.replace(tzinfo=None, fold=0)
        for weekday in slot.days:
            if not 1 <= weekday <= 7:
                raise InvalidSchedule(
                    f"schedule.slots[{index}].days", weekday, "weekday must be 1..7"
                )
            by_day[weekday].add(local_time)
    return {weekday: tuple(sorted(times)) for weekday, times in by_day.items()}


def _blackouts(windows: Sequence[TimeWindow]) -> list[tuple[datetime, datetime]]:
    """The blackout windows as UTC pairs, empty ones dropped."""
    pairs = []
    for index, window in enumerate(windows):
        start = _as_utc(window.start, f"schedule.blackouts[{index}].start")
        end = _as_utc(window.end, f"schedule.blackouts[{index}].end")
        if start < end:
            pairs.append((start, end))
    return pairs


def _in_any(t: datetime, windows: list[tuple[datetime, datetime]]) -> bool:
    return any(start <= t < end for start, end in windows)


def _resolve(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: its first occurrence, or the end of its DST gap."""
    instant = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    return _gap_end(naive, tz)


def _gap_end(naive: datetime, tz: ZoneInfo) -> datetime:
    """The transition instant that ends the DST gap containing the non-existent `naive`."""
    # In a gap, fold=0 applies the offset from before the transition and fold=1 the one after,
    # so the transition lies between the two readings; bisect on whole seconds, as tzdata
    # transitions are whole seconds.
    a = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    b = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(a, b), max(a, b)
    before = low.astimezone(tz).utcoffset()
    low_s, high_s = int(low.timestamp()), int(high.timestamp())
    # Invariant: the offset at low_s is `before`, the offset at high_s is not.
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == before:
            low_s = middle
        else:
            high_s = middle
    return datetime.fromtimestamp(high_s, UTC)


def _first_per_local_day(slots: list[datetime], tz: ZoneInfo, cap: int) -> list[datetime]:
    """The first `cap` of the sorted `slots` on each local calendar day."""
    counts: Counter[date] = Counter()
    kept = []
    for t in slots:
        day = t.astimezone(tz).date()
        if counts[day] < cap:
            counts[day] += 1
            kept.append(t)
    return kept


@lru_cache(maxsize=1024)
def _weights_by_key(schedule: PostingSchedule) -> dict[tuple[int, time], float]:
    """Each (weekday, local time) slot's weight; empty when every slot weighs 1.0. Cached:
    Assign asks for one instant's weight on every call."""
    by_key: dict[tuple[int, time], float] = {}
    for slot in schedule.slots:
        local_time = slot.local_time.replace(tzinfo=None, fold=0)
        for weekday in slot.days:
            key = (weekday, local_time)
            by_key[key] = max(by_key.get(key, 0.0), slot.weight or 1.0)
    return {} if all(w == 1.0 for w in by_key.values()) else by_key


def slot_weights(
    schedule: PostingSchedule, timezone: str, instants: Sequence[datetime]
) -> list[float]:
    """The weight of each posting instant: its weekly slot's (the largest when two slots share
    a local time), by the same DST rule as `slot_times`; 1.0 for an off-calendar instant."""
    by_key = _weights_by_key(schedule)
    if not by_key:
        return [1.0] * len(instants)
    tz = zone(timezone)
    out = []
    for t in instants:
        local = _as_utc(t, "instants").astimezone(tz)
        day = local.date()
        found = by_key.get((day.isoweekday(), local.time().replace(tzinfo=None)))
        if found is None:
            # A local time skipped by a DST gap runs at the gap's end: find which one it was.
            found = next(
                (
                    w
                    for (weekday, lt), w in by_key.items()
                    if weekday == day.isoweekday() and _resolve(datetime.combine(day, lt), tz) == t
                ),
                1.0,
            )
        out.append(found)
    return out
