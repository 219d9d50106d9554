"""The checker catches corrupted plans and certificates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings

from allocator import checker
from allocator.checker import PlanCheckError, certificate_bound, check_plan
from allocator.problem import AllocationProblem, Plan, SolverStatus
from allocator.solve import solve
from tests.unit.allocator_opt.instances import featured_problems, random_problem


@pytest.fixture(scope="module")
def solved():
    """A solved instance with two assignments on one channel and a free slot next to one."""
    for seed in range(200):
        p = random_problem(seed, videos=15, channels=3, days=3, max_slots_per_day=3, windows=0.0)
        plan = solve(p)
        per_channel = np.bincount(plan.channel, minlength=p.num_channels)
        roomy = (per_channel > 0) & (per_channel < p.channel_free)
        if per_channel.max() >= 2 and roomy.any():
            return p, plan
    raise AssertionError("no suitable instance")


def _with(plan: Plan, **changes: object) -> Plan:
    return dataclasses.replace(plan, **changes)


def _assert_rejected(p, plan: Plan, what: str) -> None:
    with pytest.raises(PlanCheckError) as err:
        check_plan(p, plan)
    assert err.value.what == what


def test_the_plan_itself_passes(solved) -> None:
    p, plan = solved
    report = check_plan(p, plan)
    assert report.objective == plan.objective
    assert report.score_bound == plan.best_bound


def test_two_assignments_in_one_slot(solved) -> None:
    p, plan = solved
    slot = plan.slot.copy()
    same_channel = np.flatnonzero(plan.channel == plan.channel[0])
    if len(same_channel) < 2:
        pytest.skip("needs two assignments on one channel")
    slot[same_channel[1]] = slot[same_channel[0]]
    _assert_rejected(p, _with(plan, slot=slot), "slot capacity")


def test_video_over_capacity(solved) -> None:
    p, plan = solved
    v = int(plan.video[0])
    caps = p.video_capacity.copy()
    caps[v] = 0
    tight = dataclasses.replace(p, video_capacity=caps)
    _assert_rejected(tight, plan, "video capacity")


def test_duplicate_video_on_a_channel(solved) -> None:
    p, plan = solved
    used = set(plan.slot.tolist())
    for i in range(plan.filled):
        c = int(plan.channel[i])
        free = [s for s in range(p.channel_slot_ptr[c], p.channel_slot_ptr[c + 1]) if s not in used]
        if free:
            break
    else:
        pytest.skip("every channel is full")
    rows = np.r_[np.arange(plan.filled), i]
    dup = _with(
        plan,
        candidate=plan.candidate[rows],
        video=plan.video[rows],
        channel=plan.channel[rows],
        slot=np.r_[plan.slot, free[0]],
        score=plan.score[rows],
        objective=plan.objective + int(plan.score[i]),
        filled=plan.filled + 1,
    )
    _assert_rejected(p, dup, "duplicate video")


def test_duplicate_source_on_a_channel(solved) -> None:
    p, plan = solved
    same_channel = np.flatnonzero(plan.channel == plan.channel[0])
    if len(same_channel) < 2:
        pytest.skip("needs two assignments on one channel")
    src = p.video_source.copy()
    src[plan.video[same_channel[1]]] = src[plan.video[same_channel[0]]]
    _assert_rejected(dataclasses.replace(p, video_source=src), plan, "duplicate source")


def test_wrong_objective(solved) -> None:
    p, plan = solved
    _assert_rejected(p, _with(plan, objective=plan.objective + 1), "objective")


def test_wrong_score(solved) -> None:
    p, plan = solved
    score = plan.score.copy()
    score[0] += 1
    _assert_rejected(p, _with(plan, score=score), "score")


def test_bound_below_the_certificate(solved) -> None:
    p, plan = solved
    _assert_rejected(p, _with(plan, best_bound=plan.best_bound - 1), "bound")


def test_forged_certificate(solved) -> None:
    p, plan = solved
    cert = plan.certificate
    assert cert is not None
    # Zero duals certify nothing: the bound becomes the sum of all positive scores.
    zero = dataclasses.replace(
        cert,
        video=np.zeros_like(cert.video),
        channel=np.zeros_like(cert.channel),
        cday=np.zeros_like(cert.cday),
        slot=np.zeros_like(cert.slot),
        group_value=np.zeros_like(cert.group_value),
    )
    _assert_rejected(p, _with(plan, certificate=zero), "bound")
    negative = dataclasses.replace(cert, video=cert.video - 10**9)
    _assert_rejected(p, _with(plan, certificate=negative), "certificate")


def test_optimal_claim_without_proof(solved) -> None:
    p, plan = solved
    worse = _with(
        plan,
        candidate=plan.candidate[1:],
        video=plan.video[1:],
        channel=plan.channel[1:],
        slot=plan.slot[1:],
        score=plan.score[1:],
        objective=plan.objective - int(plan.score[0]),
        filled=plan.filled - 1,
        status=SolverStatus.OPTIMAL,
    )
    _assert_rejected(p, worse, "bound")


def test_outside_the_window(solved) -> None:
    p, plan = solved
    ws = p.video_window_start.copy()
    ws[plan.video[0]] = p.slot_time[plan.slot[0]] + 1
    _assert_rejected(dataclasses.replace(p, video_window_start=ws), plan, "window")


def test_spacing(solved) -> None:
    p, plan = solved
    v = int(plan.video[0])
    pins = dataclasses.replace(
        p,
        min_hours_between=1,
        pin_video=np.array([v], np.int32),
        pin_channel=np.array([0], np.int32),
        pin_time=np.array([p.slot_time[plan.slot[0]] + 60], np.int64),
    )
    _assert_rejected(
        pins, _with(plan, certificate=None, status=SolverStatus.FEASIBLE), "min_hours_between"
    )


@settings(max_examples=60, deadline=None)
@given(featured_problems)
def test_the_bound_is_the_same_in_any_chunks(p: AllocationProblem) -> None:
    """The certificate is priced in candidate chunks: chunks of 1, 3 and the default give the
    same bound, with pools, caps, slot weights and spacing."""
    plan = solve(p, check=False)
    if plan.certificate is None:
        return
    whole = certificate_bound(p, plan.certificate)
    for size in (1, 3):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(checker, "_CANDIDATES", size)
            assert certificate_bound(p, plan.certificate) == whole
