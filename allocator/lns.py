"""Large-neighbourhood search: two channels at a time re-solved by CP-SAT.

`_neighbourhood` cuts the problem down to the freed channels (every other assignment becomes a
pin, so spacing still sees it); `_lns` re-solves pairs of channels from the current plan as a
complete hint, without presolve, and keeps every strict improvement. Two neighbourhoods on
disjoint channels are solved at a time, one thread and one CP-SAT worker each, from the same
plan; `_merge` takes both improvements when they fit together (video capacities and spacing
are the only rules across channels), else the better one.

Deterministic: the pairs are drawn at random from a fixed seed (the same draws as before
determinism, which the staggered figures in docs/performance.md come from), skipping pairs
already re-solved from the current plan and, in a batch, waiting when they share a channel
with it; each neighbourhood is a deterministic CP-SAT run (`allocator.cpsat.cp_parameters`)
with a budget of `_LNS_STEP_UNITS` work units; and the search ends on deterministic rules:
when the plan reaches the certified bound, when every pair has been re-solved from the
current plan without improvement (the same runs would return the same answers: a fixed
point), or when the pipeline's work reaches `_LNS_SHARE` of the time limit (less
`_WALL_RESERVE_S`). The wall clock only caps: a batch it cuts is dropped and the search ends
(`allocator.cpsat._Clock`).

Measured on the 1.5k x 40 staggered instance, 20 s of LNS from the same start on the shared
2-core machine: two 1-worker neighbourhoods at a time did 29-35 neighbourhoods and reached
27,045,133-27,054,651 (4 seeds); the 2-worker portfolio with 1 s of wall time each, one at a
time, 27-29 and 27,052,300-27,055,008 (3 runs); one 1-worker neighbourhood at a time 25 in
17.6 s (27,047,205).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocator.cpsat import DTIME_PER_UNIT, _better, _Clock, _decode, _weighted, solve_cp
from allocator.flow import fill_weight
from allocator.model_matrix import ModelMatrix, build_matrix, hint_from_assignment
from allocator.problem import AllocationProblem, BoolArray, Int64Array

_LNS_CHANNELS = 2  # channels freed per neighbourhood
_LNS_BATCH = 2  # neighbourhoods solved at once (on disjoint channels, one thread each)
# CP-SAT budget per neighbourhood, in work units (deterministic time DTIME_PER_UNIT each).
# Staggered, full 60 s solve on the shared 2-core machine (2026-12-01): 1 unit 0.603%,
# 3 units 0.561%, 4 units 0.574% (from the same start, 25 s of LNS: 1 unit 39,978k, 2 units
# 39,983k, 3 units 39,995k); the 2-worker portfolio at 1 s of wall time each, the search
# before determinism, ended at 0.605% in the same session. On 1.5k x 40 for 30 s, 0.4 units
# did 77 neighbourhoods to 1 unit's 40, and ended lower (27,048,286 against 27,052,816).
_LNS_STEP_UNITS = 3.0
# LNS stops when the pipeline's work reaches this share of the time limit, less the reserve:
# an unloaded machine then ends at about 80% of the limit, and a machine up to ~1.2x slower
# still ends on the budget rather than on the wall clock.
_LNS_SHARE = 0.8
_LNS_SEED = 0
# Work units charged per neighbourhood for building it (sub-problem, model matrix, CP-SAT
# model, decoding), measured on the staggered instances: a fixed part and one per nonzero.
_STEP_FIXED_UNITS = 0.005
_STEP_NNZ_PER_UNIT = 2_000_000.0
_WALL_RESERVE_S = 0.2  # wall seconds left for the plan and the checker


def _neighbourhood(
    p: AllocationProblem, best: tuple[Int64Array, Int64Array], freed: Int64Array
) -> tuple[AllocationProblem, Int64Array, Int64Array, Int64Array, Int64Array, BoolArray]:
    """The problem left when every assignment off the channels `freed` stays as it is.

    Kept assignments become pins (their spacing still counts) and use up video capacity; the
    freed channels' slots and candidates are renumbered. Returns the sub-problem, the maps
    from its candidates and slots back to the problem's, the current assignments on the freed
    channels in the sub-problem's numbering, and which of `best`'s rows stay.
    """
    cand, slot = best
    cmap = np.full(p.num_channels, -1, np.int32)
    cmap[freed] = np.arange(len(freed))
    stay = cmap[p.cand_channel[cand]] < 0
    stay_vid = p.cand_video[cand[stay]]
    ce = np.flatnonzero(cmap[p.cand_channel] >= 0)
    sm = np.flatnonzero(cmap[p.slot_channel] >= 0)
    uses = np.bincount(stay_vid, minlength=p.num_videos)
    sub = AllocationProblem(
        mode=p.mode,
        num_channels=len(freed),
        cand_video=p.cand_video[ce],
        cand_channel=cmap[p.cand_channel[ce]],
        cand_score=p.cand_score[ce],
        video_capacity=np.maximum(p.video_capacity - uses, 0),
        video_source=p.video_source,
        video_window_start=p.video_window_start,
        video_window_end=p.video_window_end,
        slot_channel=cmap[p.slot_channel[sm]],
        slot_time=p.slot_time[sm],
        slot_day=p.slot_day[sm],
        slot_weight=p.slot_weight[sm] if len(p.slot_weight) else p.slot_weight,
        pin_video=np.r_[p.pin_video, stay_vid],
        pin_channel=np.zeros(len(p.pin_video) + len(stay_vid), np.int32),  # only spacing
        pin_time=np.r_[p.pin_time, p.slot_time[slot[stay]]],
        min_hours_between=p.min_hours_between,
        time_limit_seconds=p.time_limit_seconds,
        num_workers=p.num_workers,
    )
    e_at = np.searchsorted(ce, cand[~stay])
    s_at = np.searchsorted(sm, slot[~stay])
    return sub, ce, sm, e_at, s_at, stay


def _draws(num_channels: int) -> Iterator[Int64Array]:
    """Random pairs of channels, sorted, from a fixed seed, without end."""
    rng = np.random.default_rng(_LNS_SEED)
    while True:
        yield np.sort(rng.choice(num_channels, _LNS_CHANNELS, replace=False))


@dataclass(frozen=True, eq=False)
class _Job:
    """One neighbourhood, ready for CP-SAT: its sub-problem, maps back and model."""

    sub: AllocationProblem
    ce: Int64Array  # sub-problem candidate -> problem candidate
    sm: Int64Array  # sub-problem slot -> problem slot
    stay: BoolArray  # rows of the current plan off the freed channels
    matrix: ModelMatrix
    hint: BoolArray


def _job(p: AllocationProblem, best: tuple[Int64Array, Int64Array], freed: Int64Array) -> _Job:
    sub, ce, sm, e_at, s_at, stay = _neighbourhood(p, best, freed)
    matrix = build_matrix(sub, np.arange(sub.num_candidates))
    return _Job(sub, ce, sm, stay, matrix, hint_from_assignment(sub, matrix, e_at, s_at))


def _batch(
    draws: Iterator[Int64Array], pending: Int64Array | None, seen: set[tuple[int, ...]]
) -> tuple[list[Int64Array], Int64Array | None]:
    """Up to `_LNS_BATCH` pairs on disjoint channels, not yet `seen` from the current plan.

    Pairs are taken in the order drawn; one that shares a channel with the batch waits for
    the next batch (`pending`). Needs at least one pair outside `seen`.
    """

    def unseen() -> Int64Array:
        while True:
            pair = next(draws)
            if tuple(pair.tolist()) not in seen:
                return pair

    if pending is None or tuple(pending.tolist()) in seen:
        pending = unseen()
    batch = [pending]
    while len(batch) < _LNS_BATCH:
        pair = unseen()
        if np.isin(pair, np.concatenate(batch)).any():
            return batch, pair
        batch.append(pair)
    return batch, None


def _fits_together(p: AllocationProblem, plan: tuple[Int64Array, Int64Array]) -> bool:
    """Video capacities and min_hours_between over the whole plan (and the pins).

    The rules that tie channels together, so the only ones two neighbourhoods solved apart
    can break between them; everything else holds channel by channel.
    """
    vid = p.cand_video[plan[0]]
    if np.any(np.bincount(vid, minlength=p.num_videos) > p.video_capacity):
        return False
    gap = p.spacing_seconds
    if gap <= 0:
        return True
    v = np.r_[vid, p.pin_video].astype(np.int64)
    t = np.r_[p.slot_time[plan[1]], p.pin_time]
    order = np.lexsort((t, v))
    v, t = v[order], t[order]
    return not np.any((v[1:] == v[:-1]) & (t[1:] - t[:-1] < gap))


def _merge(
    p: AllocationProblem,
    best: tuple[Int64Array, Int64Array],
    found: list[tuple[_Job, Int64Array, Int64Array]],
) -> tuple[Int64Array, Int64Array] | None:
    """The new plan from a batch's improving neighbourhoods (in batch order), or None.

    All of them together when that still fits (`_fits_together`) and beats each alone,
    else the best alone (the first on a tie).
    """
    if not found:
        return None
    plans = [
        (np.r_[best[0][job.stay], cand], np.r_[best[1][job.stay], slot])
        for job, cand, slot in found
    ]
    top = plans[0]
    for other in plans[1:]:
        if _better(p, other, top):
            top = other
    if len(found) == 1:
        return top
    keep = np.logical_and.reduce([job.stay for job, _, _ in found])
    together = (
        np.concatenate([best[0][keep], *(cand for _, cand, _ in found)]),
        np.concatenate([best[1][keep], *(slot for _, _, slot in found)]),
    )
    if _fits_together(p, together) and _better(p, together, top):
        return together
    return top


def _lns(
    p: AllocationProblem,
    best: tuple[Int64Array, Int64Array],
    clock: _Clock,
    stats: dict[str, Any],
    target: int | None = None,
) -> tuple[Int64Array, Int64Array]:
    """Large-neighbourhood search: re-solve two channels at a time with CP-SAT.

    Everything off the freed channels stays (as pins for spacing); CP-SAT gets the slot-level
    model of the freed channels with the current assignments as a complete hint and no
    presolve, maximising sum(fill weight + score) of the neighbourhood (its score in FILTER,
    fill then score in SCHEDULE), and a strictly better plan replaces the current one.
    Neighbourhoods go in batches of `_LNS_BATCH` on disjoint channels, one thread each (one
    CP-SAT worker per neighbourhood: both cores, deterministically), all from the same plan;
    `_merge` combines their improvements. A fixed batch width, not `num_workers`, so that
    the plan does not depend on the machine's cores.
    `target`: a certified bound on sum(fill weight + score) of any plan (at it, stop).
    The stopping rules are in the module docstring.
    """
    steps = improved = 0
    stop = "budget"
    t0 = time.perf_counter()
    big_m = fill_weight(p)
    n_pairs = p.num_channels * (p.num_channels - 1) // 2
    if n_pairs == 0:
        stop = "too few channels"
    draws = _draws(p.num_channels)
    pending: Int64Array | None = None
    seen: set[tuple[int, ...]] = set()  # pairs re-solved from the current plan, no better
    with ThreadPoolExecutor(_LNS_BATCH) as pool:
        while n_pairs:
            if target is not None and _weighted(p, best, big_m) >= target:
                stop = "bound"
                break
            if len(seen) >= n_pairs:
                stop = "fixed point"
                break
            units = min(_LNS_STEP_UNITS, clock.budget(_LNS_SHARE) - _WALL_RESERVE_S)
            if units <= 0:
                break
            wall = clock.left() - _WALL_RESERVE_S
            if wall <= 0:
                clock.cut = True
                stop = "wall clock"
                break
            batch, pending = _batch(draws, pending, seen)
            jobs = [_job(p, best, freed) for freed in batch]
            futures = [
                pool.submit(
                    solve_cp,
                    job.matrix,
                    job.hint,
                    wall,
                    1,
                    presolve=False,
                    dtime=units * DTIME_PER_UNIT,
                    fill_weight=fill_weight(job.sub) if big_m else 0,
                )
                for job in jobs
            ]
            results = [f.result() for f in futures]
            steps += len(jobs)
            # The runs share the wall time: the longest one, plus building every model.
            clock.charge(
                max(r.dtime for r in results) / DTIME_PER_UNIT
                + sum(
                    _STEP_FIXED_UNITS
                    + (job.matrix.rows.nnz + job.matrix.num_columns) / _STEP_NNZ_PER_UNIT
                    for job in jobs
                )
            )
            if any(r.cut for r in results):
                # The wall clock stopped a run: the whole batch is dropped, so the plan stays
                # one that the uncut search also reached.
                clock.cut = True
                stop = "wall clock"
                break
            found = []
            for job, res in zip(jobs, results, strict=True):
                if res.columns is None:
                    continue
                sc, ss = _decode(job.sub, job.matrix, res.columns)
                cand, slot = job.ce[sc], job.sm[ss]
                if _better(
                    p, (np.r_[best[0][job.stay], cand], np.r_[best[1][job.stay], slot]), best
                ):
                    found.append((job, cand, slot))
            merged = _merge(p, best, found)
            if merged is not None:
                best = merged
                improved += 1
                seen.clear()
            else:
                seen.update(tuple(pair.tolist()) for pair in batch)
    stats.update(
        lns_steps=steps, lns_improved=improved, lns_stop=stop, lns_s=time.perf_counter() - t0
    )
    return best
