"""The same problem gives the same plan.

Each instance is solved 20 times in this process; every plan must be identical (candidates,
videos, channels, slots, scores, status, objective, fill, bounds). The instances cover each
path of `allocator.solve`: the certified flow (FILTER, SCHEDULE), the flow whose choice does
not fit (mixed-window groups: LP and CP-SAT), min_hours_between (column generation and
CP-SAT), min_hours_between with LNS (a FEASIBLE plan at a fixed point, and an OPTIMAL one
found by LNS), and bench's S instance through `allocator.planning.build_instance`.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.lns import _fits_together, _merge
from allocator.problem import (
    OPEN_END,
    OPEN_START,
    AllocationProblem,
    Mode,
    Plan,
    SolverStatus,
)
from allocator.solve import solve
from tests.unit.allocator_opt.instances import random_problem

solve_module = importlib.import_module("allocator.solve")  # the module, not the function

REPEATS = 20


def _fingerprint(plan: Plan) -> tuple[Any, ...]:
    arrays = tuple(
        tuple(np.asarray(getattr(plan, name)).tolist())
        for name in ("candidate", "video", "channel", "slot", "score")
    )
    return (*arrays, plan.status, plan.objective, plan.filled, plan.best_bound, plan.fill_bound)


def _solve_repeatedly(p: AllocationProblem, times: int = REPEATS) -> Plan:
    """Solve `p` `times` times; every plan must be the first one. Returns the first."""
    first = solve(p)
    want = _fingerprint(first)
    for run in range(1, times):
        plan = solve(p)
        assert not plan.stats["wall_clock_cut"], f"run {run}: cut by the wall clock"
        assert _fingerprint(plan) == want, f"run {run} differs from run 0"
    assert not first.stats["wall_clock_cut"]
    return first


@pytest.mark.parametrize("mode", [Mode.FILTER, Mode.SCHEDULE])
def test_certified_flow_plan_is_repeatable(mode: Mode) -> None:
    p = random_problem(2, videos=60, channels=6, days=4, max_slots_per_day=3, mode=mode)
    plan = _solve_repeatedly(p)
    assert plan.stats["flow_certified"] and plan.status is SolverStatus.OPTIMAL


def test_windows_that_break_the_flow_give_a_repeatable_plan() -> None:
    # Same-source videos with different windows whose flow choice does not fit: LP + CP-SAT.
    p = random_problem(5, videos=20, channels=4, days=3, max_slots_per_day=3, windows=0.6)
    plan = _solve_repeatedly(p)
    assert plan.stats["flow_fits"] is False and plan.stats["lp_rounds"] >= 1


def test_spacing_plan_is_repeatable() -> None:
    # Seed 0 gave four different optimal plans in six solves with the 2-worker portfolio.
    p = random_problem(
        0, videos=30, channels=5, days=4, max_slots_per_day=3, min_hours_between=20,
        max_k=3, pins=3, mode=Mode.SCHEDULE,
    )  # fmt: skip
    plan = _solve_repeatedly(p)
    assert plan.stats["lp_rounds"] >= 2 and plan.status is SolverStatus.OPTIMAL


@pytest.mark.parametrize(
    ("seed", "videos", "slots_per_day", "mode", "stop"),
    [
        (2, 40, 3, Mode.SCHEDULE, "fixed point"),  # FEASIBLE: no pair of channels improves
        (1, 80, 4, Mode.FILTER, "bound"),  # OPTIMAL: LNS reaches the certified bound
    ],
)
def test_lns_plan_is_repeatable(
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    videos: int,
    slots_per_day: int,
    mode: Mode,
    stop: str,
) -> None:
    # CP-SAT on the whole model gets 0.2% of the time limit instead of 5%, so that LNS has
    # work left, while the wall clock (3 s) stays far from the ~0.2 s these solves take.
    monkeypatch.setattr(solve_module, "_CP_SHARE", 0.002)
    p = random_problem(
        seed, videos=videos, channels=5, days=4, max_slots_per_day=slots_per_day,
        min_hours_between=20, max_k=3, pins=3, mode=mode, density=0.5,
    )  # fmt: skip
    plan = _solve_repeatedly(dataclasses.replace(p, time_limit_seconds=3.0))
    assert plan.stats["lns_steps"] >= 1 and plan.stats["lns_stop"] == stop


def test_bench_s_instance_is_repeatable() -> None:
    from bench.generate import SPECS, build_problem, generate

    p = build_problem(generate(SPECS["S"], 0)).problem
    plan = _solve_repeatedly(p)
    assert plan.status is SolverStatus.OPTIMAL


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1), st.sampled_from(list(Mode)))
def test_spacing_plans_are_repeatable(seed: int, mode: Mode) -> None:
    p = random_problem(
        seed, videos=12, channels=3, days=3, max_slots_per_day=3, min_hours_between=10,
        max_k=3, pins=2, mode=mode,
    )  # fmt: skip
    assert _fingerprint(solve(p)) == _fingerprint(solve(p))


def test_num_workers_does_not_change_the_plan() -> None:
    p = random_problem(
        3, videos=30, channels=5, days=4, max_slots_per_day=3, min_hours_between=20,
        max_k=3, pins=3, mode=Mode.SCHEDULE,
    )  # fmt: skip
    one = solve(dataclasses.replace(p, num_workers=1))
    assert _fingerprint(one) == _fingerprint(solve(p))


# ---- combining LNS neighbourhoods -----------------------------------------------------------


def _two_channels(capacity: int, min_hours_between: int = 0) -> AllocationProblem:
    """One video, eligible on two channels with one slot each, an hour apart."""
    return AllocationProblem(
        mode=Mode.FILTER,
        num_channels=2,
        cand_video=[0, 0],
        cand_channel=[0, 1],
        cand_score=[5, 7],
        video_capacity=[capacity],
        video_source=[0],
        video_window_start=[OPEN_START],
        video_window_end=[OPEN_END],
        slot_channel=[0, 1],
        slot_time=[1_000_000, 1_003_600],
        slot_day=[0, 0],
        min_hours_between=min_hours_between,
    )


def test_neighbourhoods_that_clash_are_not_combined() -> None:
    both = (np.array([0, 1]), np.array([0, 1]))
    assert _fits_together(_two_channels(2), both)
    assert not _fits_together(_two_channels(1), both)  # the video's capacity
    assert not _fits_together(_two_channels(2, min_hours_between=2), both)  # spacing
    # Two neighbourhoods from the empty plan: each adds the video on its channel.
    p = _two_channels(1)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    @dataclasses.dataclass
    class Job:
        stay: np.ndarray

    found = [(Job(np.zeros(0, bool)), np.array([0]), np.array([0]))]
    found.append((Job(np.zeros(0, bool)), np.array([1]), np.array([1])))
    merged = _merge(p, empty, found)  # type: ignore[arg-type]
    assert merged is not None and merged[0].tolist() == [1]  # the better one alone
    merged = _merge(_two_channels(2), empty, found)  # type: ignore[arg-type]
    assert merged is not None and sorted(merged[0].tolist()) == [0, 1]  # both
