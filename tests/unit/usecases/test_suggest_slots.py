"""SuggestPlacements' choice of a slot on one channel: free first, else a weaker AUTO_* holder."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from allocator import domain as d
from server.usecases.suggest import _best_slot, _Holder

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)
END = NOW + timedelta(days=2)
CHANNEL = d.Channel(
    id="c",
    timezone="UTC",
    schedule=d.PostingSchedule(slots=(d.WeeklySlot(tuple(range(1, 8)), time(9, 0)),)),
)
SLOTS = [datetime(2030, 1, 7, 9, tzinfo=UTC), datetime(2030, 1, 8, 9, tzinfo=UTC)]


def _holders(*specs: tuple[int, bool, int]) -> list[_Holder]:
    return [_Holder(SLOTS[i], f"d{i}", movable, score) for i, movable, score in specs]


def test_the_first_free_slot_wins() -> None:
    option = _best_slot(CHANNEL, 500, _holders((0, True, 100)), NOW, END)
    assert option is not None and option.scheduled_at == SLOTS[1] and not option.displaces


def test_a_full_channel_offers_its_weakest_movable_holder() -> None:
    option = _best_slot(CHANNEL, 500, _holders((0, True, 300), (1, True, 200)), NOW, END)
    assert option is not None and option.displaces == "d1" and option.scheduled_at == SLOTS[1]


def test_nothing_when_every_holder_is_pinned_or_worth_more() -> None:
    assert _best_slot(CHANNEL, 500, _holders((0, False, 100), (1, True, 900)), NOW, END) is None
