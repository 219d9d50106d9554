"""A channel's slots as Assign and Retry see them: the next free one, or a requested one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from allocator import calendar, free_slot
from allocator import domain as d
from persistence import models
from persistence.repositories import DistributionRepository

#: How far ahead Assign looks for a channel's next free slot.
SLOT_SEARCH_HORIZON = timedelta(days=62)


@dataclass(frozen=True)
class TakenWindow:
    """A channel's taken instants in [start, end) (`free_slot.instant_key`s), read ahead of the
    slot search."""

    start: datetime
    end: datetime
    keys: Sequence[int]


def first_window(now: datetime) -> tuple[datetime, datetime]:
    """The taken-instants window `next_free_slot(..., now)` reads first (to read it ahead)."""
    return free_slot.first_taken_window(now, now + SLOT_SEARCH_HORIZON)


def next_free_slot(
    distributions: DistributionRepository,
    channel: models.Channel,
    schedule: d.PostingSchedule,
    now: datetime,
    known: TakenWindow | None = None,
    fits: Callable[[datetime], bool] | None = None,
) -> datetime | None:
    """The channel's first slot of `schedule` after `now` that no live distribution holds
    (and, with `fits`, that fits: `quotas.QuotaGate.fits` passes over full quota windows).

    Nearest days first: the taken instants are read in growing windows (usually one, `known`
    when the caller read it already) until a free slot turns up, instead of resolving and
    reading the whole horizon.
    """

    def taken_between(lo: datetime, hi: datetime) -> Sequence[int]:
        if known is not None and known.start <= lo and hi <= known.end:
            low, high = free_slot.instant_key(lo), free_slot.instant_key(hi)
            return [k for k in known.keys if low <= k < high]
        return distributions.taken_keys(channel.id, lo, hi)

    return free_slot.first_free_slot(
        schedule, channel.timezone, now, now + SLOT_SEARCH_HORIZON, taken_between, fits
    )


def requested_slot(
    distributions: DistributionRepository,
    channel: models.Channel,
    schedule: d.PostingSchedule,
    requested: datetime,
) -> tuple[bool, str]:
    """(usable, problem) for an explicit slot: taken slots are never usable; a free instant off
    the calendar is usable only by `force`, which `problem` then names."""
    tz = channel.timezone
    lo, hi = requested - timedelta(days=2), requested + timedelta(days=2)
    taken = distributions.taken_times(channel.id, lo, hi)
    if requested in taken:
        return False, f"slot {requested.isoformat()} on {channel.id} is already taken"
    free = calendar.free_slots(
        calendar.slot_times(schedule, tz, lo, hi), taken, tz, schedule.max_posts_per_day
    )
    if requested in free:
        return True, ""
    return True, f"{requested.isoformat()} is not a free slot of {channel.id}'s schedule"
