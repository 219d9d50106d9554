"""Pruning: the incremental pricing of dropped candidates and the near-violator rounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import keep_set, pruning
from allocator.checker import certificate_bound
from allocator.flow import solve_flow
from allocator.problem import AllocationProblem, Mode
from allocator.pruning import initial_keep, near_margin, price_dropped, prune_and_solve
from tests.unit.allocator_opt.instances import featured_problems, random_problem

seeds = st.integers(min_value=0, max_value=2**31 - 1)
modes = st.sampled_from([Mode.FILTER, Mode.SCHEDULE])


@settings(max_examples=60, deadline=None)
@given(seeds, modes, st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=9))
def test_price_dropped_finds_every_near_candidate(
    seed: int, mode: Mode, margin: int, chunk: int
) -> None:
    p = random_problem(seed, videos=30, channels=5, days=3, max_slots_per_day=3, mode=mode)
    keep = initial_keep(p, factor=0.2, fill=0.0)
    duals = solve_flow(p, np.flatnonzero(keep)).duals
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pruning, "_PRICE_CHUNK", chunk)  # several chunks, ragged end
        cand, rc = price_dropped(p, duals, keep, margin)
    dropped = np.flatnonzero(~keep)
    full = pruning.reduced_costs(p, duals, dropped)
    want = full > -margin
    assert cand.tolist() == dropped[want].tolist()
    assert rc.tolist() == full[want].tolist()


@settings(max_examples=40, deadline=None)
@given(seeds, modes, st.sampled_from([0.0, 0.1, 1.0]))
def test_near_violators_change_rounds_not_the_certified_optimum(
    seed: int, mode: Mode, share: float
) -> None:
    p = random_problem(seed, videos=40, channels=6, days=3, max_slots_per_day=3, mode=mode)
    plain = prune_and_solve(p, factor=0.3, near_share=0.0, fill=0.0)
    near = prune_and_solve(p, factor=0.3, near_share=share, fill=0.0)
    assert certificate_bound(p, near.flow.duals) == near.weighted_bound
    if plain.flow.exact and near.flow.exact:
        assert near.flow.weighted == plain.flow.weighted == near.weighted_bound


def test_margin_is_a_share_of_the_mean_score() -> None:
    p = random_problem(3, videos=20, channels=4)
    mean = float(np.abs(p.cand_score).mean())
    assert near_margin(p, 0.5) == max(1, int(0.5 * mean))
    assert near_margin(p, 0.0) == 1  # violators only: reduced cost > -1, i.e. >= 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3)), max_size=40),
    st.lists(st.integers(0, 6), min_size=6, max_size=6),
    st.sampled_from([1, 1000, 2**29]),
)
def test_top_per_group_keeps_the_best_of_each_group_ties_by_index(
    members: list[tuple[int, int]], quota: list[int], scale: int
) -> None:
    group = np.array([g for g, _ in members], np.int32)
    score = np.array([s * scale for _, s in members], np.int64)
    keep = keep_set.top_per_group(group, score, np.array(quota, np.int64))
    want = np.zeros(len(members), bool)
    for g in range(6):
        ranked = sorted(np.flatnonzero(group == g).tolist(), key=lambda i: (-score[i], i))
        want[ranked[: quota[g]]] = True
    assert keep.tolist() == want.tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(-3, 3)), min_size=1, max_size=40),
    st.sampled_from([1, 7, 2**29]),
    st.booleans(),
)
def test_channel_order_is_by_channel_then_score_then_index(
    members: list[tuple[int, int]], scale: int, grouped: bool
) -> None:
    if grouped:  # candidates in build_candidates' channel order take the per-channel sorts
        members = sorted(members, key=lambda m: m[0])
    ch = np.array([c for c, _ in members], np.int64)
    score = np.array([s * scale for _, s in members], np.int64)
    want = sorted(range(len(members)), key=lambda i: (ch[i], -score[i], i))
    assert keep_set._by_channel_and_score(ch, score).tolist() == want


@settings(max_examples=60, deadline=None)
@given(featured_problems)
def test_reduced_costs_are_the_same_in_any_chunks(p: AllocationProblem) -> None:
    """reduced_costs prices candidates in chunks: chunks of 1 and 3 give the default's
    values, with pools, caps, slot weights and spacing."""
    duals = solve_flow(p).duals
    every = np.arange(p.num_candidates)
    whole = pruning.reduced_costs(p, duals, every)
    for size in (1, 3):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pruning, "_RC_CHUNK", size)
            assert pruning.reduced_costs(p, duals, every).tolist() == whole.tolist()
