"""Quota windows and platform caps: plans against brute force, certified and checked."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from allocator.checker import PlanCheckError, check_plan
from allocator.greedy import greedy
from allocator.limits import fits_limits, window_use
from allocator.problem import AllocationProblem, Mode, ProblemError, SolverStatus
from allocator.rolling import restrict
from allocator.solve import solve
from tests.unit.allocator_opt.instances import brute_force, random_problem, with_limits

seeds = st.integers(min_value=0, max_value=2**31 - 1)
modes = st.sampled_from([Mode.FILTER, Mode.SCHEDULE])


def _tiny(seed: int, mode: Mode, **kw: object) -> AllocationProblem | None:
    """A brute-force-sized instance (at most 10 slots) with quota pools and caps."""
    p = random_problem(seed, videos=5, channels=3, days=2, max_slots_per_day=3, mode=mode)
    if p.num_slots > 10:
        return None
    return with_limits(p, seed, **kw)  # type: ignore[arg-type]


def _value(fill: int, score: int, mode: Mode) -> tuple[int, int]:
    return (fill if mode is Mode.SCHEDULE else 0, score)


@settings(max_examples=250, deadline=None)
@given(seeds, modes, st.integers(min_value=0, max_value=2))
@example(1971099, Mode.FILTER, 0)  # mixed-window sources: the relaxed path, CP-SAT with windows
def test_calendar_pools_and_caps_are_exact_and_certified(
    seed: int, mode: Mode, platforms: int
) -> None:
    p = _tiny(seed, mode, platforms=platforms)
    if p is None:
        return
    plan = solve(p)
    check_plan(p, plan)
    assert fits_limits(p, plan.candidate, plan.slot)
    assert _value(plan.filled, plan.objective, mode) == brute_force(p)
    if plan.stats["flow_exact"]:
        # Calendar days partition the slots: the flow is exact and its duals prove it.
        assert plan.status is SolverStatus.OPTIMAL and plan.best_bound == plan.objective


@settings(max_examples=200, deadline=None)
@given(seeds, modes)
def test_rolling_and_overlapping_windows_keep_an_honest_bound(seed: int, mode: Mode) -> None:
    p = _tiny(seed, mode, rolling=True, platforms=1)
    if p is None:
        return
    plan = solve(p)
    check_plan(p, plan)  # every window and cap held; the certificate bounds the optimum
    fill, best = brute_force(p)
    assert _value(plan.filled, plan.objective, mode) <= (fill, best)
    if mode is Mode.FILTER:
        assert plan.objective <= best <= plan.best_bound
    g = greedy(p)
    check_plan(p, g)
    assert _value(plan.filled, plan.objective, mode) >= _value(g.filled, g.objective, mode)


def _shared_window(capacity: int) -> AllocationProblem:
    """Two channels, one day, every slot in one quota window of `capacity`."""
    base = random_problem(3, videos=8, channels=2, days=1, max_slots_per_day=4, density=1.0)
    return dataclasses.replace(
        base,
        video_capacity=np.ones(base.num_videos, np.int32),
        window_capacity=np.array([capacity], np.int64),
        window_slot_ptr=np.array([0, base.num_slots], np.int64),
        window_slots=np.arange(base.num_slots),
    )


def test_a_shared_window_takes_the_best_videos_of_every_channel() -> None:
    p = _shared_window(2)
    assert p.num_slots > 2
    plan = solve(p)
    assert plan.filled == 2
    assert plan.status is SolverStatus.OPTIMAL
    assert plan.objective == brute_force(p)[1]


def test_the_checker_refuses_an_overfull_window() -> None:
    loose = solve(_shared_window(99))
    assert loose.filled > 2
    uncertified = dataclasses.replace(loose, certificate=None, status=SolverStatus.FEASIBLE)
    with pytest.raises(PlanCheckError, match="quota window"):
        check_plan(_shared_window(2), uncertified)


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"window_capacity": [1], "window_slot_ptr": [0, 1, 2]}, "window_slot_ptr"),
        ({"window_capacity": [1], "window_slot_ptr": [0, 1], "window_slots": [99]}, "window_slots"),
        ({"window_capacity": [-1], "window_slot_ptr": [0, 0]}, "window_capacity"),
        (
            {"window_capacity": [1], "window_slot_ptr": [0, 2], "window_slots": [0, 0]},
            "window_slots",
        ),
        ({"channel_platform": [0]}, "channel_platform"),
        ({"vp_video": [0], "vp_platform": [0]}, "vp_capacity"),
        ({"vp_video": [0, 0], "vp_platform": [1, 1], "vp_capacity": [1, 1]}, "vp_video"),
    ],
)
def test_inconsistent_limit_arrays_name_the_field(fields: dict[str, object], name: str) -> None:
    p = random_problem(5, videos=3, channels=2, days=1, max_slots_per_day=2)
    if p.num_slots < 2:
        p = random_problem(6, videos=3, channels=2, days=1, max_slots_per_day=2)
    with pytest.raises(ProblemError) as err:
        dataclasses.replace(p, **fields)  # type: ignore[arg-type]
    assert err.value.field == name


@settings(max_examples=150, deadline=None)
@given(seeds, modes)
def test_single_channel_rolling_windows_lose_nothing_when_every_slot_is_open(
    seed: int, mode: Mode
) -> None:
    # No availability windows, no shared sources, one rolling pool per channel: the greedy
    # restriction keeps the most slots each channel can fill, so its plan is the optimum.
    p = random_problem(
        seed, videos=5, channels=2, days=2, max_slots_per_day=3, mode=mode, windows=0, groups=0
    )
    if p.num_slots > 10:
        return
    p = with_limits(p, seed, pools=0, rolling=False)
    rows = [np.flatnonzero(p.slot_channel == c) for c in range(p.num_channels)]
    spans = [
        r[(p.slot_time[r] >= t) & (p.slot_time[r] < t + 86_400)]
        for r in rows
        for t in p.slot_time[r].tolist()
    ]
    spans = [s for s in spans if len(s)]
    p = dataclasses.replace(
        p,
        window_capacity=np.random.default_rng(seed).integers(0, 3, len(spans)),
        window_slot_ptr=np.cumsum([0] + [len(s) for s in spans]),
        window_slots=np.concatenate(spans) if spans else np.zeros(0, np.int64),
    )
    _, kept = restrict(p)
    family = np.zeros(p.model_windows.count, bool)
    family[p.slot_window[p.slot_window >= 0]] = True
    # The kept slots fit every window outside the flow's family, whatever fills them.
    assert np.all((window_use(p, kept) <= p.window_capacity) | family[: len(p.window_capacity)])
    plan = solve(p)
    check_plan(p, plan)
    assert _value(plan.filled, plan.objective, mode) == brute_force(p)
