"""Quota windows: the arithmetic of a pool's limit per window, with no storage or transport.

A quota pool allows at most `limit` publications per window, counted by the instants of its
live distributions:

- CALENDAR_DAY: the window of an instant is its local calendar day in the pool's timezone,
  from one local midnight to the next (23 or 25 hours across a DST change; a midnight that a
  DST gap skips starts at the end of the gap, as the slot calendar resolves local times);
- ROLLING_24H: any 24 hours. A placement at `t` fits iff every window [a, a + 24 h) that
  contains `t` keeps its count <= limit.

`lock_keys` gives the window rows a writer locks before counting (one calendar day; the three
UTC days around a rolling placement, so that any two placements less than 24 h apart share one),
`windows_overlapping` the windows of a horizon, `peak_with` / `fits` the check of a placement,
and `reset_after` when a pool that the platform reported full has room again. Assign, the
missed-slot sweep and the optimiser share them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from allocator.calendar import _as_utc, _resolve, zone

CALENDAR_DAY = "CALENDAR_DAY"
ROLLING_24H = "ROLLING_24H"
KINDS = (CALENDAR_DAY, ROLLING_24H)
DAY = timedelta(hours=24)


class UnknownWindowKind(ValueError):
    """A window kind other than CALENDAR_DAY or ROLLING_24H."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"kind: must be one of {', '.join(KINDS)} (got {kind!r})")
        self.kind = kind


def calendar_window(t: datetime, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local calendar day of `timezone` that holds the instant `t`."""
    tz = zone(timezone)
    utc = _as_utc(t, "t")
    day = utc.astimezone(tz).date()
    start = _midnight(day, timezone)
    # A fall-back across midnight can give an instant past a midnight the local date of the
    # day before: the window is the one its midnights bound, whatever the wall clock says.
    while utc < start:
        day -= timedelta(days=1)
        start = _midnight(day, timezone)
    end = _midnight(day + timedelta(days=1), timezone)
    while utc >= end:
        day += timedelta(days=1)
        start, end = end, _midnight(day + timedelta(days=1), timezone)
    return start, end


def _midnight(day: date, timezone: str) -> datetime:
    """The first instant of the local date `day` (its midnight, or the end of a DST gap)."""
    return _resolve(datetime.combine(day, time()), zone(timezone))


def _utc_day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def lock_keys(kind: str, timezone: str, t: datetime) -> list[datetime]:
    """The window starts whose rows a writer placing `t` locks, ascending.

    CALENDAR_DAY: the start of `t`'s day. ROLLING_24H: the UTC midnights of the day before,
    of and after `t`'s UTC day: two placements less than 24 h apart, the only ones that share a
    rolling window, then always share the row of the later one's day.
    """
    utc = _as_utc(t, "t")
    if kind == CALENDAR_DAY:
        return [calendar_window(utc, timezone)[0]]
    if kind == ROLLING_24H:
        day = _utc_day(utc)
        return [day - DAY, day, day + DAY]
    raise UnknownWindowKind(kind)


def count_span(kind: str, timezone: str, t: datetime) -> tuple[datetime, datetime]:
    """[lo, hi): the instants whose count decides whether a placement at `t` fits."""
    utc = _as_utc(t, "t")
    if kind == CALENDAR_DAY:
        return calendar_window(utc, timezone)
    if kind == ROLLING_24H:
        return utc - DAY, utc + DAY
    raise UnknownWindowKind(kind)


def windows_overlapping(
    kind: str, timezone: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The windows that meet [start, end), in order, tiling it without gaps.

    CALENDAR_DAY: the local days of `timezone`; ROLLING_24H: the UTC days (reporting buckets:
    a rolling pool's limit itself is checked by `fits` over every 24 hours).
    """
    lo, hi = _as_utc(start, "start"), _as_utc(end, "end")
    windows: list[tuple[datetime, datetime]] = []
    if lo >= hi:
        return windows
    if kind == CALENDAR_DAY:
        window = calendar_window(lo, timezone)
        while window[0] < hi:
            windows.append(window)
            window = calendar_window(window[1], timezone)
        return windows
    if kind == ROLLING_24H:
        day = _utc_day(lo)
        while day < hi:
            windows.append((day, day + DAY))
            day += DAY
        return windows
    raise UnknownWindowKind(kind)


def peak_with(kind: str, timezone: str, times: Iterable[datetime], t: datetime) -> int:
    """The largest count of a window holding `t` once `t` is placed too (`times` are the
    live instants already placed, in any order; an instant equal to `t` counts apart)."""
    utc = _as_utc(t, "t")
    placed = sorted(_as_utc(x, "times") for x in times)
    if kind == CALENDAR_DAY:
        lo, hi = calendar_window(utc, timezone)
        return 1 + bisect_left(placed, hi) - bisect_left(placed, lo)
    if kind == ROLLING_24H:
        return 1 + _rolling_peak(placed, utc)
    raise UnknownWindowKind(kind)


def _rolling_peak(placed: Sequence[datetime], t: datetime) -> int:
    """The most instants of `placed` in one window [a, a + 24 h) with t - 24 h < a <= t.

    Each instant x lies in the windows whose start is in (x - 24 h, x]: a count that is
    highest at the right end of one of those intervals, so the starts worth trying are the
    instants of (t - 24 h, t] and t itself.
    """
    first, last = bisect_right(placed, t - DAY), bisect_right(placed, t)
    starts = [*placed[first:last], t]
    return max(bisect_left(placed, a + DAY) - bisect_left(placed, a) for a in starts)


def fits(kind: str, timezone: str, limit: int, times: Iterable[datetime], t: datetime) -> bool:
    """Whether a placement at `t` keeps every window that holds it within `limit`."""
    return peak_with(kind, timezone, times, t) <= limit


def reset_after(
    kind: str, timezone: str, limit: int, times: Iterable[datetime], now: datetime
) -> datetime:
    """When a pool that the platform reported full at `now` has room again.

    CALENDAR_DAY: the next local midnight (the end of the window that holds `now`).
    ROLLING_24H: the earliest instant at which the last 24 hours hold fewer than `limit` of
    `times` (the publications already made, up to `now`), or `now + 24 h` when they hold fewer
    already: the platform counts what vdist does not know of.
    """
    utc = _as_utc(now, "now")
    if kind == CALENDAR_DAY:
        return calendar_window(utc, timezone)[1]
    if kind != ROLLING_24H:
        raise UnknownWindowKind(kind)
    recent = sorted(x for x in (_as_utc(y, "times") for y in times) if utc - DAY < x <= utc)
    if limit <= 0 or len(recent) < limit:
        return utc + DAY
    # Room once all but limit - 1 of them have left the last 24 hours.
    return max(utc, recent[len(recent) - limit] + DAY)
