"""AutoDistribute: plan the whole backlog at once, optimally, and write the plan atomically.

One transaction holds the planner lock and the scope's channel rows from reading the state to
writing the plan, so a concurrent run or Assign can never book a slot or a pair the plan relies
on. The plan, its drops and moves (re-planning), the run and one decision per change and per
video left out commit together or not at all (invariants 3 and 4). A dry run writes only its
run, as a PROPOSED plan that ApplyRun can write later (server/usecases/proposals.py).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from typing import Any

import numpy as np

from allocator.checker import check_plan
from allocator.digest import problem_digest
from allocator.planning import Instance, build_instance, planned_pairs, skipped_videos
from allocator.problem import Plan
from allocator.replan import keep_in_place, kept_rows, net_of_penalty, plan_changes
from allocator.solve import solve
from allocator.weights import in_score_units
from persistence.base import utcnow
from persistence.repositories import PlannerLockTimeout, Repositories
from server.usecases import proposal_store
from server.usecases.errors import Aborted
from server.usecases.gc_pause import collector_paused
from server.usecases.plan_quotas import quota_use
from server.usecases.plan_result import ChannelFill, PlanResult, Skip, placements, run_row
from server.usecases.plan_scope import AutoDistributeCommand, load_scope
from server.usecases.plan_write import assignment_rows, with_ids, write_plan

__all__ = ["AutoDistributeCommand", "PlanResult", "auto_distribute", "input_digest", "plan_digest"]

log = logging.getLogger(__name__)
PLANNER_LOCK_WAIT = "10s"


#: Opens a named span around a stage (tracing), e.g. `Tracing.span`; `no_span` does nothing.
SpanFactory = Callable[[str], AbstractContextManager[Any]]


def no_span(_name: str) -> AbstractContextManager[Any]:
    """A stage without tracing."""
    return nullcontext()


class _Stages:
    """Each stage of a run as a span (when tracing is on) and its wall time, for the log."""

    def __init__(self, span: SpanFactory) -> None:
        self._span = span
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        with self._span(f"AutoDistribute.{name}"):
            yield
        self.seconds[name] = time.perf_counter() - started

    def __str__(self) -> str:
        return " ".join(f"{k}={v:.2f}s" for k, v in self.seconds.items())


def auto_distribute(
    repos: Repositories, command: AutoDistributeCommand, span: SpanFactory = no_span
) -> PlanResult:
    """Plans and (unless a dry run) writes the plan with its run and decisions; each stage
    (load, candidates, solve, check, rows, write) runs inside `span(name)`, with the cyclic
    garbage collector paused (`gc_pause`)."""
    with collector_paused():
        return _auto_distribute(repos, command, span)


def _auto_distribute(
    repos: Repositories, command: AutoDistributeCommand, span: SpanFactory
) -> PlanResult:
    started = time.perf_counter()
    if not command.dry_run:
        try:
            repos.planner_lock.acquire(PLANNER_LOCK_WAIT)
        except PlannerLockTimeout as exc:
            raise Aborted(
                f"another AutoDistribute run held the planner lock for {PLANNER_LOCK_WAIT}; "
                "retry when it has finished"
            ) from exc
    stages = _Stages(span)
    read_at = utcnow()
    with stages.stage("load"):
        scope, max_attempts = load_scope(repos, command)
    with stages.stage("candidates"):
        instance = build_instance(scope)
        digest = input_digest(instance)
    if command.expected_input_digest and command.expected_input_digest != digest:
        raise Aborted(
            "the inputs changed since the dry run (its input_digest was "
            f"{command.expected_input_digest[:12]}..., now {digest[:12]}...): a video, channel, "
            "free slot or live distribution differs; nothing was written. Run the dry run again"
        )
    with stages.stage("solve"):
        plan = keep_in_place(instance, solve(instance.problem, check=False))
    with stages.stage("check"):
        # Nothing is written unless the plan passes the independent integer check.
        check_plan(instance.problem, plan)
    run_id = str(uuid.uuid4())
    with stages.stage("rows"):
        kept = kept_rows(instance, plan)
        plan = in_score_units(instance.problem, net_of_penalty(instance, plan))
        new_pairs = (p for p, k in zip(planned_pairs(instance, plan), kept, strict=True) if not k)
        assignments = assignment_rows(
            new_pairs,
            label=f"planned by run {run_id[:8]} ({command.mode.value})",
            method=command.method,
            actor=command.actor,
            run_id=run_id,
            max_attempts=max_attempts,
        )
        changes = with_ids(plan_changes(instance, plan), assignments)
        skipped = [Skip(*s) for s in skipped_videos(instance, plan)]
        quota = quota_use(scope.quota_pools, scope.start, scope.end, placements(instance, plan))
    planned = plan_digest(assignments)
    if command.expected_plan_digest and command.expected_plan_digest != planned:
        raise Aborted(
            "the same inputs gave another plan than the dry run's (a search cut by its time "
            "limit can end elsewhere); nothing was written. Run the dry run again, or give "
            "the solver more time"
        )
    result = PlanResult(
        run_id=run_id,
        status=plan.status,
        objective=plan.objective,
        best_bound=plan.best_bound,
        gap=plan.gap,
        candidate_count=instance.problem.num_candidates,
        slot_count=instance.problem.num_slots,
        assignments=assignments,
        skipped=skipped,
        channels=_channel_fill(instance, plan),
        wall_seconds=time.perf_counter() - started,
        dry_run=command.dry_run,
        input_digest=digest,
        plan_digest=planned,
        changes=changes,
        quota=quota,
    )
    with stages.stage("write"):
        if command.dry_run:
            result = proposal_store.propose(repos, command, instance, result, read_at)
        else:
            repos.runs.add(run_row(command, instance, result))
            write_plan(
                repos,
                run_id=run_id,
                method=command.method,
                actor=command.actor,
                assignments=assignments,
                changes=changes,
                skipped=[(s.video_id, s.code, s.reason) for s in skipped],
                applied_at=utcnow(),
            )
    result = replace(result, wall_seconds=time.perf_counter() - started)
    log.info("AutoDistribute %s: %s; solver %s", run_id, stages, plan.stats)
    return result


def input_digest(instance: Instance) -> str:
    """The problem's digest together with the ids its indices stand for, so that equal digests
    mean equal plans of the same videos on the same channels."""
    h = hashlib.sha256(problem_digest(instance.problem).encode())
    for ids in ([v.id for v in instance.videos], [c.id for c in instance.channels]):
        h.update(b"\x00".join(i.encode() for i in ids) + b"\x01")
    return h.hexdigest()


def plan_digest(assignments: list[dict[str, Any]]) -> str:
    """SHA-256 of a plan: every assignment's video, channel and slot, in a canonical order."""
    rows = sorted(
        f"{a['video_id']}\x00{a['channel_id']}\x00{a['scheduled_at'].isoformat()}"
        for a in assignments
    )
    return hashlib.sha256("\x01".join(rows).encode()).hexdigest()


def _channel_fill(instance: Instance, plan: Plan) -> list[ChannelFill]:
    """Free slots, filled slots and score per channel, in channel id order."""
    channels = instance.channels
    filled = np.bincount(plan.channel, minlength=len(channels))
    score = np.zeros(len(channels), np.int64)
    np.add.at(score, plan.channel, plan.score)  # exact integers, unlike bincount weights
    free = instance.problem.channel_free
    return [
        ChannelFill(channels[j].id, int(free[j]), int(filled[j]), int(score[j]))
        for j in sorted(range(len(channels)), key=lambda j: channels[j].id)
    ]
