"""Slotting rule, problem validation, and slots from the calendar across a DST change."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import problem_checks
from allocator.calendar import local_day, slot_times
from allocator.checker import check_plan
from allocator.domain import Channel, PostingSchedule, WeeklySlot
from allocator.problem import OPEN_END, OPEN_START, AllocationProblem, Mode, ProblemError
from allocator.slotting import assign_slots
from allocator.solve import solve
from tests.unit.allocator_opt.instances import random_problem


def _one_channel(scores: list[int], starts: list[int], slots: int) -> AllocationProblem:
    n = len(scores)
    return AllocationProblem(
        mode=Mode.FILTER,
        num_channels=1,
        cand_video=np.arange(n),
        cand_channel=np.zeros(n),
        cand_score=scores,
        video_capacity=np.ones(n),
        video_source=np.arange(n),
        video_window_start=starts,
        video_window_end=np.full(n, OPEN_END),
        slot_channel=np.zeros(slots),
        slot_time=1_000_000 + 3600 * np.arange(slots),
        slot_day=np.zeros(slots),
    )


def test_highest_score_takes_the_earliest_slot() -> None:
    p = _one_channel([5, 9, 7], [OPEN_START] * 3, 3)
    assert assign_slots(p, np.arange(3)).tolist() == [2, 0, 1]


def test_a_deadline_goes_first_so_everything_fits() -> None:
    p = _one_channel([5, 9], [OPEN_START, OPEN_START], 2)
    we = p.video_window_end.copy()
    we[0] = int(p.slot_time[1])  # video 0 may only use slot 0
    q = dataclasses.replace(p, video_window_end=we)
    assert assign_slots(q, np.arange(2)).tolist() == [0, 1]


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_slotting_is_deterministic_and_valid(seed: int) -> None:
    p = random_problem(seed, videos=20, channels=4, days=3, max_slots_per_day=3, windows=0.6)
    plan = solve(p)
    check_plan(p, plan)
    again = solve(p)
    assert np.array_equal(plan.slot, again.slot) and np.array_equal(plan.candidate, again.candidate)


def test_invalid_problems_raise_named_errors() -> None:
    p = _one_channel([1, 2], [OPEN_START] * 2, 2)
    for field, value in [
        ("cand_channel", np.array([0, 1])),
        ("cand_video", np.array([0, 0])),
        ("slot_time", np.array([5, 1])),
        ("cand_score", np.array([1, 2, 3])),
        ("video_capacity", np.array([1, -1])),
    ]:
        with pytest.raises(ProblemError) as err:
            dataclasses.replace(p, **{field: value})
        assert err.value.field == field


@pytest.mark.parametrize(
    ("timezone", "start"),
    [
        ("Europe/Berlin", datetime(2026, 3, 27, tzinfo=UTC)),  # spring forward 2026-03-29
        ("America/New_York", datetime(2026, 10, 30, tzinfo=UTC)),  # fall back 2026-11-01
        ("Australia/Lord_Howe", datetime(2026, 4, 3, tzinfo=UTC)),  # 30-minute shift
    ],
)
def test_dst_horizons_use_the_calendars_slots(timezone: str, start: datetime) -> None:
    """Slots come from allocator.calendar; plans land exactly on them, in local days."""
    end = start + timedelta(days=4)
    schedule = PostingSchedule(
        slots=(
            WeeklySlot(days=(1, 2, 3, 4, 5, 6, 7), local_time=time(1, 30)),
            WeeklySlot(days=(1, 2, 3, 4, 5, 6, 7), local_time=time(2, 30)),
            WeeklySlot(days=(1, 2, 3, 4, 5, 6, 7), local_time=time(18, 0)),
        )
    )
    channel = Channel(id="c", timezone=timezone, schedule=schedule)
    times = slot_times(channel.schedule, channel.timezone, start, end)
    n = 12
    p = AllocationProblem(
        mode=Mode.SCHEDULE,
        num_channels=1,
        cand_video=np.arange(n),
        cand_channel=np.zeros(n),
        cand_score=np.arange(n) + 1,
        video_capacity=np.ones(n),
        video_source=np.arange(n),
        video_window_start=np.full(n, OPEN_START),
        video_window_end=np.full(n, OPEN_END),
        slot_channel=np.zeros(len(times)),
        slot_time=[int(t.timestamp()) for t in times],
        slot_day=[local_day(t, timezone).toordinal() for t in times],
    )
    plan = solve(p)
    check_plan(p, plan)
    assert plan.filled == min(n, len(times))
    used = {datetime.fromtimestamp(int(p.slot_time[s]), UTC) for s in plan.slot}
    assert used <= set(times)
    # The best video takes the first slot of the horizon.
    best = int(np.argmax(plan.score))
    assert int(plan.slot[best]) == 0


@pytest.mark.parametrize("run", [1, 2, 1 << 20])
@pytest.mark.parametrize("seed", range(20))
def test_duplicate_candidates_are_found_in_any_order(
    seed: int, run: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unique (video, channel) candidates pass in order and shuffled; one repeated pair fails
    wherever it sits (the check skips its sort only for strictly increasing keys, which it
    compares in runs of `run` keys)."""
    monkeypatch.setattr(problem_checks, "_RUN", run)
    rng = np.random.default_rng(seed)
    p = random_problem(seed, videos=12, channels=3, days=2, max_slots_per_day=2, windows=0.3)
    order = rng.permutation(p.num_candidates)
    shuffled = {
        name: getattr(p, name)[order] for name in ("cand_video", "cand_channel", "cand_score")
    }
    dataclasses.replace(p, **shuffled)  # unique in any order
    if p.num_candidates < 2:
        return
    i, j = rng.choice(p.num_candidates, 2, replace=False)
    repeated = {
        name: np.append(getattr(p, name), getattr(p, name)[i])
        for name in ("cand_video", "cand_channel", "cand_score")
    }
    for fields in (repeated, {k: np.roll(a, j) for k, a in repeated.items()}):
        with pytest.raises(ProblemError) as err:
            dataclasses.replace(p, **fields)
        assert err.value.field == "cand_video"
