"""bench.quota's generator at S size: the pools bind, partition what they should, and solve."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.checker import check_plan
from allocator.greedy import greedy
from allocator.limits import binding_windows, member_window
from allocator.quota_windows import CALENDAR_DAY, ROLLING_24H
from allocator.solve import solve
from bench.quota import INSTAGRAM, QUOTA_SPECS, TIKTOK, YOUTUBE, QuotaInstance, build_quota

TINY = QUOTA_SPECS["S-Q"]  # one project of 5 YouTube channels, 3 TikTok, 3 Instagram


@pytest.fixture(scope="module")
def tiny() -> QuotaInstance:
    return build_quota(TINY, seed=0)


def test_is_deterministic(tiny: QuotaInstance) -> None:
    again = build_quota(TINY, seed=0).problem
    assert np.array_equal(again.window_slots, tiny.problem.window_slots)
    assert np.array_equal(again.window_capacity, tiny.problem.window_capacity)


def test_platforms_and_pools(tiny: QuotaInstance) -> None:
    platform = np.asarray(tiny.platform)
    assert (platform == YOUTUBE).sum() == 5
    assert (platform == TIKTOK).sum() == 3 and (platform == INSTAGRAM).sum() == 3
    kinds = [pool.kind for pool in tiny.pools]
    assert kinds.count(CALENDAR_DAY) == 1 + 3 and kinds.count(ROLLING_24H) == 3
    assert all(pool.used for pool in tiny.pools if pool.kind == ROLLING_24H)


def test_windows_bind(tiny: QuotaInstance) -> None:
    p = tiny.problem
    binding = binding_windows(p)
    assert binding.any()
    # The denser schedules make every calendar pool bind, outside posts the rolling ones.
    bound = set(_window_pools(tiny)[binding].tolist())
    kinds = [pool.kind for pool in tiny.pools]
    assert {i for i, kind in enumerate(kinds) if kind == CALENDAR_DAY} <= bound
    assert any(kinds[i] == ROLLING_24H for i in bound)


def test_calendar_pools_partition_youtube_and_tiktok_slots(tiny: QuotaInstance) -> None:
    p = tiny.problem
    window_pool = _window_pools(tiny)
    calendar = np.array([pool.kind == CALENDAR_DAY for pool in tiny.pools])
    members = member_window(p)
    in_calendar = calendar[window_pool[members]]
    count = np.bincount(p.window_slots[in_calendar], minlength=p.num_slots)
    pooled = np.isin(np.asarray(tiny.platform)[p.slot_channel], [YOUTUBE, TIKTOK])
    assert np.all(count[pooled] == 1) and np.all(count[~pooled] == 0)


def test_plan_checks_and_beats_greedy(tiny: QuotaInstance) -> None:
    p = tiny.problem
    plan = solve(p, check=False)
    check_plan(p, plan)
    assert plan.objective >= greedy(p).objective


def _window_pools(qi: QuotaInstance) -> np.ndarray:
    """The pool of each window, from the pools' channels (a window lies in one pool)."""
    p = qi.problem
    pool_of_channel = {c: i for i, pool in enumerate(qi.pools) for c in pool.channels}
    first = p.window_slots[p.window_slot_ptr[:-1]]
    return np.array([pool_of_channel[int(c)] for c in p.slot_channel[first]])
