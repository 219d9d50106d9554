"""SuggestPlacements' choice of a slot on one channel: free first, else its weakest AUTO_*
holder when this video is worth more; and the window of live distributions it reads for it.
(Which holder is the weakest the database decides: tests/integration/test_suggest.py.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from allocator import domain as d
from allocator.free_slot import TAKEN_MARGIN
from server.usecases.suggest import _best_slot, _Holder, _holders_window, _Slots

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
END = NOW + timedelta(days=2)
CHANNEL = d.Channel(
    id="c",
    timezone="UTC",
    schedule=d.PostingSchedule(slots=(d.WeeklySlot(tuple(range(1, 8)), time(9, 0)),)),
)
SLOTS = [datetime(2030, 1, 7, 9, tzinfo=UTC), datetime(2030, 1, 8, 9, tzinfo=UTC)]


def _slots(*taken: int, weakest: tuple[int, int] | None = None) -> _Slots:
    """The instants SLOTS[i] taken, and the weakest holder (SLOTS[i], score) if any."""
    holder = None if weakest is None else _Holder(SLOTS[weakest[0]], "weak", weakest[1])
    return _Slots([SLOTS[i] for i in taken], holder)


def test_the_first_free_slot_wins() -> None:
    option = _best_slot(CHANNEL, 500, _slots(0, weakest=(0, 100)), NOW, END)
    assert option is not None and option.scheduled_at == SLOTS[1] and not option.displaces


def test_a_full_channel_offers_its_weakest_holder() -> None:
    option = _best_slot(CHANNEL, 500, _slots(0, 1, weakest=(1, 200)), NOW, END)
    assert option is not None and option.displaces == "weak" and option.scheduled_at == SLOTS[1]


def test_nothing_when_no_holder_is_displaceable_or_the_weakest_is_worth_as_much() -> None:
    assert _best_slot(CHANNEL, 500, _slots(0, 1), NOW, END) is None
    assert _best_slot(CHANNEL, 500, _slots(0, 1, weakest=(0, 500)), NOW, END) is None


def test_instants_may_come_in_any_order() -> None:
    later = NOW + timedelta(days=3)
    option = _best_slot(CHANNEL, 500, _slots(1, 0), NOW, later)
    assert option is not None and option.scheduled_at == datetime(2030, 1, 9, 9, tzinfo=UTC)


def test_a_daily_cap_counts_what_was_posted_earlier_that_day() -> None:
    twice = d.PostingSchedule(
        slots=(d.WeeklySlot(tuple(range(1, 8)), time(9, 0)), d.WeeklySlot((1, 2), time(21, 0))),
        max_posts_per_day=1,
    )
    capped = replace(CHANNEL, schedule=twice)
    after_nine = NOW.replace(hour=10)  # the 09:00 post of that day is before the horizon
    option = _best_slot(capped, 500, _slots(0), after_nine, END)
    assert option is not None and option.scheduled_at == SLOTS[1]


def test_the_margin_around_the_horizon_is_read_only_for_a_daily_cap() -> None:
    capped = replace(CHANNEL, id="capped", schedule=replace(CHANNEL.schedule, max_posts_per_day=2))
    assert _holders_window([CHANNEL], NOW, END) == (NOW, END)
    assert _holders_window([CHANNEL, capped], NOW, END) == (
        NOW - TAKEN_MARGIN,
        END + TAKEN_MARGIN,
    )
