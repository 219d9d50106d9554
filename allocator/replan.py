"""Re-planning's outputs: a plan that keeps released distributions where they were, its
objective net of change penalties, and its difference from the current plan.

The model prices change per (video, channel) pair: a released distribution's pair earns
`change_penalty` when the plan keeps it on its channel (`allocator.planning.build_instance`),
so the objective the solver maximises is the new score plus the penalty of every kept pair,
and the reported objective and bound are that minus the penalty of every released
distribution: total score minus the penalty per distribution that leaves its channel. Both
are certified as any plan's are. Which slot a kept pair gets is no part of the value, so
`keep_in_place` gives each kept pair its old slot whenever the rest of the plan still fits
around it (the slotting rule of `allocator.slotting` places the rest); a kept pair is MOVED
only when its slot left the calendar or was needed by a video with a tighter window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from allocator import filters
from allocator.limits import fits_limits
from allocator.planning import Instance
from allocator.problem import AllocationProblem, Int64Array, Plan, relative_gap
from allocator.release import Released
from allocator.slotting import SlottingError, assign_slots

BoolArray = npt.NDArray[np.bool_]

ADDED, MOVED, DROPPED = "ADDED", "MOVED", "DROPPED"


@dataclass(frozen=True)
class Change:
    """One difference between a plan and the current one. `plan_row` is the plan's row of an
    ADDED or MOVED change (-1 for DROPPED); `distribution_id` the existing distribution of a
    MOVED or DROPPED one."""

    kind: str
    video_id: str
    channel_id: str
    from_time: datetime | None
    to_time: datetime | None
    score: int
    reason: str
    distribution_id: str = ""
    plan_row: int = -1


def kept_rows(instance: Instance, plan: Plan) -> BoolArray:
    """Rows of the plan that keep a released distribution on its channel."""
    mine = instance.released_candidate[instance.released_candidate >= 0]
    return np.isin(plan.candidate, mine)


def keep_in_place(instance: Instance, plan: Plan) -> Plan:
    """The plan with every kept pair back in its old slot where the others still fit, and
    with a kept pair that would move traded for a dropped one of the same value that can stay
    where it was (the same objective, one change less); the plan as it is when that would
    overfill a quota window or pass a platform cap."""
    placed = _place(instance, plan)
    traded = _trade_moved_for_dropped(instance, placed)
    kept = placed if traded is None else _place(instance, traded)
    p = instance.problem
    if p.has_limits and not fits_limits(p, kept.candidate, kept.slot):
        # Old slots in other quota windows than the solver's: its placement stands.
        return plan
    return kept


def _trade_moved_for_dropped(instance: Instance, plan: Plan) -> Plan | None:
    """On each channel, a kept pair placed away from its old slot swapped for a released pair
    the plan dropped, of the same value, whose own old slot is free to it; None: no trade."""
    p, rc, rs = instance.problem, instance.released_candidate, instance.released_slot
    row_of = {int(c): r for r, c in enumerate(plan.candidate.tolist())}
    used = set(plan.video.tolist())
    moved: dict[int, list[int]] = {}
    dropped: dict[int, list[int]] = {}
    for k in np.flatnonzero((rc >= 0) & (rs >= 0)).tolist():
        cand = int(rc[k])
        video, channel = int(p.cand_video[cand]), int(p.cand_channel[cand])
        if p.timed_videos[video]:
            continue
        row = row_of.get(cand)
        if row is None and video not in used:
            dropped.setdefault(channel, []).append(k)
        elif row is not None and int(plan.slot[row]) != int(rs[k]):
            moved.setdefault(channel, []).append(row)
    candidate, videos = plan.candidate.copy(), plan.video.copy()
    traded = False
    for channel, rows in moved.items():
        spare = dropped.get(channel, [])
        for row in rows:
            sources = set(p.video_source[videos[plan.channel == channel]].tolist())
            sources.discard(int(p.video_source[videos[row]]))
            for k in spare:
                cand = int(rc[k])
                lo, hi = p.slot_range(np.array([cand]))
                if (
                    p.cand_score[cand] == plan.score[row]
                    and lo[0] <= rs[k] < hi[0]
                    and int(p.video_source[p.cand_video[cand]]) not in sources
                ):
                    candidate[row], videos[row] = cand, p.cand_video[cand]
                    spare.remove(k)
                    traded = True
                    break
    return replace(plan, candidate=candidate, video=videos) if traded else None


def _place(instance: Instance, plan: Plan) -> Plan:
    """Kept pairs back in their old slots where the others still fit (`keep_in_place`)."""
    p, rc, rs = instance.problem, instance.released_candidate, instance.released_slot
    if not (rc >= 0).any() or len(plan.candidate) == 0:
        return plan
    preferred = np.full(p.num_candidates, -1, np.int64)
    usable = (rc >= 0) & (rs >= 0)
    preferred[rc[usable]] = rs[usable]
    want = preferred[plan.candidate]
    lo, hi = p.slot_range(plan.candidate)
    # Timed videos go back only where their spacing still holds (`_timed_back`); their slots
    # are then fixed, and the others are placed around everything fixed.
    plan = _timed_back(p, plan, want, lo, hi)
    timed = p.timed_videos[plan.video]
    fixed = (want >= 0) & ~timed & (lo <= want) & (want < hi) & ~np.isin(want, plan.slot[timed])
    if not fixed.any():
        return plan
    slot = plan.slot.copy()
    held = plan.slot[timed]
    for c in np.unique(plan.channel[fixed]).tolist():
        on = plan.channel == c
        keep, rest = fixed & on, on & ~timed & ~fixed
        try:
            # Usually every kept pair fits back where it was, the others around them.
            placed = assign_slots(p, plan.candidate[rest], taken=np.concatenate([want[keep], held]))
            slot[keep], slot[rest] = want[keep], placed
        except SlottingError:
            # A video with a tighter window needs a kept slot: the most kept pairs in place
            # that still let every row of the channel fit (an assignment problem).
            rows = np.flatnonzero(on & ~timed)
            matched = _most_in_place(p, c, rows, want, lo, hi, held)
            if matched is not None:
                slot[rows] = matched
    return replace(plan, slot=slot)


def _most_in_place(
    p: AllocationProblem,
    channel: int,
    rows: Int64Array,
    want: Int64Array,
    lo: Int64Array,
    hi: Int64Array,
    held: Int64Array,
) -> Int64Array | None:
    """Slots for `rows` of one channel, each within its window, as many as possible on its
    wanted slot; None when they do not fit (then the plan's own placement stands)."""
    free = np.setdiff1d(
        np.arange(p.channel_slot_ptr[channel], p.channel_slot_ptr[channel + 1]), held
    )
    if len(free) < len(rows):
        return None
    allowed = (free[None, :] >= lo[rows, None]) & (free[None, :] < hi[rows, None])
    never = len(rows) + 1
    cost = np.where(allowed, 0, never) - (free[None, :] == want[rows, None]) * allowed
    picked_rows, picked = linear_sum_assignment(cost)
    if len(picked_rows) < len(rows) or (cost[picked_rows, picked] >= never).any():
        return None
    out = np.empty(len(rows), np.int64)
    out[picked_rows] = free[picked]
    return out


def _timed_back(
    p: AllocationProblem, plan: Plan, want: Int64Array, lo: Int64Array, hi: Int64Array
) -> Plan:
    """Each timed kept row moved back to its old slot when that slot is unused, in its window,
    and min_hours_between from the video's other rows and pins."""
    timed = p.timed_videos[plan.video]
    rows = np.flatnonzero(timed & (want >= 0) & (want != plan.slot) & (lo <= want) & (want < hi))
    if len(rows) == 0:
        return plan
    slot = plan.slot.copy()
    gap = p.spacing_seconds

    def spaced(r: int, target: int) -> bool:
        v = int(plan.video[r])
        mine = (plan.video == v) & (np.arange(len(slot)) != r)
        others = np.concatenate([p.slot_time[slot[mine]], p.pin_time[p.pin_video == v]])
        return bool(np.all(np.abs(others - p.slot_time[target]) >= gap))

    # Every timed kept row back at once: what an unchanged problem gives (the old plan was
    # spaced), checked as a whole; else one row (or trading pair) at a time.
    trial = slot.copy()
    trial[rows] = want[rows]
    if len(set(trial.tolist())) == len(trial) and all(
        _spaced_video(p, trial[plan.video == v], v) for v in np.unique(plan.video[rows]).tolist()
    ):
        return replace(plan, slot=trial)
    pending = rows.tolist()
    while pending:
        # One row's return can free the old slot of another: pass again until none moves.
        holder = {int(t): r for r, t in enumerate(slot.tolist())}
        waiting = []
        for r in pending:
            target, here = int(want[r]), int(slot[r])
            other = holder.get(target)
            if other is None and spaced(r, target):
                slot[r] = target
            elif other is not None and int(want[other]) == here and slot[other] == target:
                # Two rows in each other's old slots trade back when both stay spaced.
                slot[r], slot[other] = target, here
                if not (spaced(r, target) and spaced(other, here)):
                    slot[r], slot[other] = here, target
                    waiting.append(r)
                    continue
            else:
                waiting.append(r)
                continue
            holder = {int(t): q for q, t in enumerate(slot.tolist())}
        if len(waiting) == len(pending):
            break
        pending = waiting
    return replace(plan, slot=slot)


def _spaced_video(p: AllocationProblem, slots: Int64Array, video: int) -> bool:
    """Whether a video's slots and pins are all min_hours_between apart."""
    times = np.sort(np.concatenate([p.slot_time[slots], p.pin_time[p.pin_video == video]]))
    return bool(np.all(np.diff(times) >= p.spacing_seconds))


def net_of_penalty(instance: Instance, plan: Plan) -> Plan:
    """Scores without the keep bonus; objective and bound minus the penalty of every released
    distribution (so: minus the penalty of each one that leaves its channel)."""
    scope = instance.scope
    if scope is None or not scope.released:
        return plan
    # Values are in hundredths when slots are weighted (`allocator.weights`); a kept pair's
    # bonus is then the penalty times its slot's weight, which this charges as weight 1.0.
    charge = scope.change_penalty * len(scope.released) * instance.problem.value_scale
    objective = plan.objective - charge
    bound = plan.best_bound - charge
    return replace(
        plan,
        score=plan.score - scope.change_penalty * kept_rows(instance, plan),
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound),
    )


def plan_changes(instance: Instance, plan: Plan) -> list[Change]:
    """MOVED and DROPPED changes of the released distributions (in their order), then one
    ADDED change per new assignment (in plan order), each with its reason. `plan` is net of
    the penalty (`net_of_penalty`)."""
    released = instance.scope.released if instance.scope is not None else ()
    changes, kept = _released_changes(instance, plan, released) if released else ([], set())
    times, videos, channels = instance.slot_times, instance.videos, instance.channels
    for row in range(len(plan.candidate)):
        if row not in kept:
            score = int(plan.score[row])
            changes.append(
                Change(
                    ADDED,
                    videos[int(plan.video[row])].id,
                    channels[int(plan.channel[row])].id,
                    None,
                    times[int(plan.slot[row])],
                    score,
                    f"added: score {score}",
                    plan_row=row,
                )
            )
    return changes


def _released_changes(
    instance: Instance, plan: Plan, released: Sequence[Released]
) -> tuple[list[Change], set[int]]:
    """The MOVED and DROPPED changes, and the plan rows that keep a released distribution."""
    row_of = {int(c): r for r, c in enumerate(plan.candidate.tolist())}
    owner = {int(s): r for r, s in enumerate(plan.slot.tolist())}
    at = _Index(instance)
    changes: list[Change] = []
    kept: set[int] = set()
    for k, r in enumerate(released):
        cand = int(instance.released_candidate[k])
        row = row_of.get(cand, -1) if cand >= 0 else -1
        if row < 0:
            reason = _dropped_reason(instance, plan, k, owner, at)
            changes.append(
                Change(
                    DROPPED,
                    r.video_id,
                    r.channel_id,
                    r.scheduled_at,
                    None,
                    r.score,
                    reason,
                    r.distribution_id,
                )
            )
            continue
        kept.add(row)
        to = instance.slot_times[int(plan.slot[row])]
        if to != r.scheduled_at:
            reason = _moved_reason(instance, plan, k, owner, at)
            changes.append(
                Change(
                    MOVED,
                    r.video_id,
                    r.channel_id,
                    r.scheduled_at,
                    to,
                    int(plan.score[row]),
                    reason,
                    r.distribution_id,
                    row,
                )
            )
    return changes, kept


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _outage(instance: Instance, channel: int, at: datetime) -> str | None:
    """Why a channel cannot take `at`, when the reason is the channel itself."""
    assert instance.scope is not None
    scope, name = instance.scope, instance.channels[channel].id
    until = scope.channel_unavailable_until[channel]
    if not instance.channels[channel].active:
        return f"channel {name} is inactive"
    if until is not None and at < until:
        return f"channel {name} unavailable until {_iso(until)}"
    if not scope.channel_takes_work[channel]:
        return f"channel {name} is unavailable"
    return None


class _Index:
    """Video and channel positions by id, built once per plan's changes."""

    def __init__(self, instance: Instance) -> None:
        self.video = {v.id: i for i, v in enumerate(instance.videos)}
        self.channel = {c.id: j for j, c in enumerate(instance.channels)}


def _moved_reason(instance: Instance, plan: Plan, k: int, owner: dict[int, int], at: _Index) -> str:
    r = instance.scope.released[k]  # type: ignore[union-attr]
    j = at.channel[r.channel_id]
    if (why := _outage(instance, j, r.scheduled_at)) is not None:
        return f"moved: {why}"
    slot = int(instance.released_slot[k])
    if slot < 0:
        return (
            f"moved: {_iso(r.scheduled_at)} is no longer a free slot of {r.channel_id} "
            "(schedule, blackout or day cap)"
        )
    if slot in owner:
        other = instance.videos[int(plan.video[owner[slot]])].id
        return f"moved: its slot {_iso(r.scheduled_at)} went to video {other} (a tighter window)"
    return "moved: the plan's slotting needed its slot"


def _dropped_reason(
    instance: Instance, plan: Plan, k: int, owner: dict[int, int], at: _Index
) -> str:
    scope = instance.scope
    assert scope is not None
    r = scope.released[k]
    j, i = at.channel[r.channel_id], at.video[r.video_id]
    if instance.released_candidate[k] < 0:
        if (known := instance.video_skip[i]) is not None:
            return f"dropped: {known[1]}"
        if (why := _outage(instance, j, r.scheduled_at)) is not None:
            return f"dropped: {why}"
        match = filters.check(instance.videos[i], instance.channels[j])
        if not match.eligible:
            failed = ", ".join(match.failed_filters)
            return f"dropped: no longer passes {r.channel_id}'s filters ({failed})"
        return f"dropped: scores below min_score or {r.channel_id} has no free slot"
    penalty = scope.change_penalty
    slot = int(instance.released_slot[k])
    if slot in owner:
        row = owner[slot]
        other, score = instance.videos[int(plan.video[row])].id, int(plan.score[row])
        return f"+{score - r.score - penalty} score: its slot now holds video {other} ({score})"
    elsewhere = np.flatnonzero(plan.video == i)
    if len(elsewhere):
        row = int(elsewhere[0])
        gain = int(plan.score[row]) - r.score - penalty
        return f"+{gain} score: video now on {instance.channels[int(plan.channel[row])].id}"
    return f"dropped: the plan scores more than the change penalty ({penalty}) without it"
