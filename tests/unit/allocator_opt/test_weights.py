"""Slot weights: a placement is worth score * weight; plans against brute force, certified."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.checker import check_plan
from allocator.greedy import greedy
from allocator.problem import AllocationProblem, Mode, ProblemError, SolverStatus
from allocator.solve import solve
from tests.unit.allocator_opt.instances import (
    brute_force,
    random_problem,
    with_limits,
    with_weights,
)

seeds = st.integers(min_value=0, max_value=2**31 - 1)
modes = st.sampled_from([Mode.FILTER, Mode.SCHEDULE])


def _tiny(seed: int, mode: Mode, **kw: object) -> AllocationProblem | None:
    p = random_problem(seed, videos=5, channels=3, days=2, max_slots_per_day=3, mode=mode, **kw)
    return with_weights(p, seed) if p.num_slots <= 10 else None


def _value(fill: int, score: int, mode: Mode) -> tuple[int, int]:
    return (fill if mode is Mode.SCHEDULE else 0, score)


def _exact_and_certified(p: AllocationProblem, mode: Mode) -> None:
    plan = solve(p)
    check_plan(p, plan)
    assert _value(plan.filled, plan.objective, mode) == brute_force(p)
    if plan.stats["flow_exact"]:
        assert plan.status is SolverStatus.OPTIMAL and plan.best_bound == plan.objective
    g = greedy(p)
    check_plan(p, g)
    assert _value(plan.filled, plan.objective, mode) >= _value(g.filled, g.objective, mode)


@settings(max_examples=250, deadline=None)
@given(seeds, modes)
def test_weighted_plans_are_the_brute_force_optimum(seed: int, mode: Mode) -> None:
    p = _tiny(seed, mode)
    if p is not None:
        _exact_and_certified(p, mode)


@settings(max_examples=150, deadline=None)
@given(seeds, modes, st.integers(min_value=0, max_value=2))
def test_weights_with_calendar_pools_and_caps(seed: int, mode: Mode, platforms: int) -> None:
    p = _tiny(seed, mode)
    if p is not None:
        _exact_and_certified(with_limits(p, seed, platforms=platforms), mode)


@settings(max_examples=100, deadline=None)
@given(seeds, modes, st.integers(min_value=0, max_value=2))
def test_weights_with_spacing(seed: int, mode: Mode, pins: int) -> None:
    p = _tiny(seed, mode, min_hours_between=7, max_k=3, pins=pins)
    if p is None:
        return
    plan = solve(p)
    check_plan(p, plan)
    assert _value(plan.filled, plan.objective, mode) == brute_force(p)


def test_the_best_video_takes_the_prime_slot() -> None:
    base = random_problem(1, videos=2, channels=1, days=1, max_slots_per_day=2, density=1.0)
    assert base.num_slots == 2
    p = dataclasses.replace(
        base,
        cand_score=np.array([10, 3]),
        video_capacity=np.ones(2, np.int32),
        slot_weight=np.array([100, 300]),
    )
    plan = solve(p)
    slot_of = dict(zip(plan.video.tolist(), plan.slot.tolist(), strict=True))
    assert slot_of == {0: 1, 1: 0}  # 10 * 3 + 3 * 1 beats 10 * 1 + 3 * 3
    assert plan.objective == 3300 and plan.status is SolverStatus.OPTIMAL


@pytest.mark.parametrize("weights", [[0, 100], [100, 10_001], [100]])
def test_bad_weights_name_the_field(weights: list[int]) -> None:
    base = random_problem(1, videos=2, channels=1, days=1, max_slots_per_day=2, density=1.0)
    with pytest.raises(ProblemError) as err:
        dataclasses.replace(base, slot_weight=np.array(weights))
    assert err.value.field == "slot_weight"
