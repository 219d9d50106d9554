"""The spaced-capacity flow certificate and the large-neighbourhood search of `allocator.solve`."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.checker import certificate_bound, check_plan
from allocator.cpsat import _Clock
from allocator.greedy import greedy
from allocator.lns import _lns
from allocator.problem import Mode
from allocator.spaced_flow import spaced_capacity, spaced_flow_certificate
from tests.unit.allocator_opt.instances import brute_force, random_problem

seeds = st.integers(min_value=0, max_value=2**31 - 1)


@settings(max_examples=150, deadline=None)
@given(seeds, st.integers(min_value=0, max_value=2))
def test_spaced_certificate_is_checked_and_bounds_the_optimum(seed: int, pins: int) -> None:
    p = random_problem(
        seed, videos=5, channels=3, days=2, max_slots_per_day=2, min_hours_between=20,
        max_k=3, windows=0.7, pins=pins,
    )  # fmt: skip
    if p.num_slots > 9:
        return
    cap, w_vid, _w_start = spaced_capacity(p)
    assert np.all(cap <= p.video_capacity)
    assert np.all(np.bincount(w_vid, minlength=p.num_videos) == np.where(
        cap < p.video_capacity, cap, 0
    ))  # fmt: skip
    got = spaced_flow_certificate(p)
    if got is None:
        assert len(w_vid) == 0
        return
    total, cert, _, _ = got
    bound = certificate_bound(p, cert)
    assert bound == -((-total) // cert.denominator)
    assert bound >= brute_force(p)[1]


def test_spaced_capacity_counts_spaced_uses() -> None:
    # One channel, slots every 10 hours; a video open on all of them with k = 3 and a 25 h gap
    # fits uses at 0, 30 (no slot), ...: times 0, 10, 20, 30, 40 -> picks 0 and 30 -> 2 uses.
    from allocator.problem import OPEN_END, OPEN_START, AllocationProblem

    t0 = 1_780_000_000
    p = AllocationProblem(
        mode=Mode.FILTER,
        num_channels=1,
        cand_video=np.array([0], np.int32),
        cand_channel=np.array([0], np.int32),
        cand_score=np.array([5]),
        video_capacity=np.array([3], np.int32),
        video_source=np.array([0], np.int32),
        video_window_start=np.array([OPEN_START]),
        video_window_end=np.array([OPEN_END]),
        slot_channel=np.zeros(5, np.int32),
        slot_time=t0 + np.arange(5) * 36_000,
        slot_day=np.array([0, 0, 0, 1, 1], np.int32),
        min_hours_between=25,
    )
    cap, w_vid, w_start = spaced_capacity(p)
    assert cap.tolist() == [2]
    assert w_vid.tolist() == [0, 0]
    assert sorted(w_start.tolist()) == [t0, t0 + 3 * 36_000]


@settings(max_examples=5, deadline=None)
@given(seeds, st.sampled_from([Mode.FILTER, Mode.SCHEDULE]))
def test_lns_keeps_plans_feasible_and_never_worse(seed: int, mode: Mode) -> None:
    p = random_problem(
        seed, videos=30, channels=5, days=4, max_slots_per_day=3, min_hours_between=20,
        max_k=3, pins=3, mode=mode,
    )  # fmt: skip
    start = greedy(p)
    stats: dict[str, object] = {}
    clock = _Clock(1.6)  # a budget of 0.8 * 1.6 - 0.2 work units: a fixed point comes first
    cand, slot = _lns(p, (start.candidate, start.slot), clock, stats)
    order = np.argsort(cand, kind="stable")
    plan = start.__class__(
        candidate=cand[order],
        video=p.cand_video[cand[order]],
        channel=p.cand_channel[cand[order]],
        slot=slot[order],
        score=p.cand_score[cand[order]],
        status=start.status,
        objective=int(p.cand_score[cand].sum()),
        filled=len(cand),
        best_bound=start.best_bound,
        fill_bound=start.fill_bound,
        gap=start.gap,
        certificate=None,
    )
    check_plan(p, plan)
    assert isinstance(stats["lns_steps"], int) and stats["lns_steps"] >= 1
    assert stats["lns_stop"] in ("fixed point", "budget") and not clock.cut
    if mode is Mode.SCHEDULE:
        assert (plan.filled, plan.objective) >= (start.filled, start.objective)
    else:
        assert plan.objective >= start.objective
