"""AutoDistribute: plan the whole backlog at once, optimally, and write the plan atomically.

One transaction holds the planner lock and the scope's channel rows from reading the state to
writing the plan, so a concurrent run or Assign can never book a slot or a pair the plan relies
on. The plan, the run and one decision per assignment and per video left out commit together
or not at all (invariants 3 and 4); dry runs read only.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

import numpy as np

from allocator.checker import check_plan
from allocator.digest import problem_digest
from allocator.planning import (
    Instance,
    LivePair,
    Scope,
    build_instance,
    planned_pairs,
    skipped_videos,
)
from allocator.problem import Mode, Plan, SolverStatus
from allocator.scoring import ScoreBreakdown
from allocator.solve import solve
from persistence import models
from persistence.base import utcnow
from persistence.enums import DecisionKind, DistributionMethod
from persistence.repositories import PlannerLockTimeout, Repositories
from server.usecases import lookups
from server.usecases.availability import available_now
from server.usecases.domain_values import channel_to_domain, transformation_json, video_to_domain
from server.usecases.errors import Aborted
from server.usecases.lifecycle import PlannedValues, new_distributions
from server.usecases.retry_policy import policy_for
from server.usecases.scope_values import videos_from_values

log = logging.getLogger(__name__)
PLANNER_LOCK_WAIT = "10s"


@dataclass(frozen=True)
class AutoDistributeCommand:
    """One planning run over [start, end); empty id lists mean every READY video or active
    channel. `parameters` is the request as the caller sent it, kept on the run record."""

    mode: Mode
    video_ids: tuple[str, ...]
    channel_ids: tuple[str, ...]
    start: datetime
    end: datetime
    max_channels_per_video: int
    min_score: int
    min_hours_between: int
    time_limit_seconds: float
    dry_run: bool
    actor: str
    parameters: Mapping[str, Any]
    #: A dry run's input_digest that this run must match (empty: no check).
    expected_input_digest: str = ""
    #: A dry run's plan_digest that this run's plan must match (empty: no check).
    expected_plan_digest: str = ""

    @property
    def method(self) -> DistributionMethod:
        """The method recorded on the run's distributions."""
        if self.mode is Mode.FILTER:
            return DistributionMethod.AUTO_FILTER
        return DistributionMethod.AUTO_SCHEDULE


@dataclass(frozen=True)
class ChannelFill:
    """How a plan fills one channel."""

    channel_id: str
    free_slots: int
    filled: int
    total_score: int


@dataclass(frozen=True)
class Skip:
    """A video the plan left out, and why."""

    video_id: str
    code: str
    reason: str


@dataclass(frozen=True)
class PlanResult:
    """A run's plan (the new distributions' column values), what is proven about it, the videos
    it left out and the fill of each channel."""

    run_id: str
    status: SolverStatus
    objective: int
    best_bound: int
    gap: float
    candidate_count: int
    slot_count: int
    assignments: list[dict[str, Any]]
    skipped: list[Skip]
    channels: list[ChannelFill]
    wall_seconds: float
    dry_run: bool
    input_digest: str
    plan_digest: str


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
    (load, candidates, solve, check, rows, write) runs inside `span(name)`."""
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
    with stages.stage("load"):
        scope, max_attempts = _load_scope(repos, command)
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
        plan = solve(instance.problem, check=False)
    with stages.stage("check"):
        # Nothing is written unless the plan passes the independent integer check.
        check_plan(instance.problem, plan)
    run_id = str(uuid.uuid4())
    with stages.stage("rows"):
        assignments = _assignments(instance, plan, command, run_id, max_attempts)
        skipped = [Skip(*s) for s in skipped_videos(instance, plan)]
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
    )
    if not command.dry_run:
        with stages.stage("write"):
            _write(repos, command, instance, result)
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


def _load_scope(
    repos: Repositories, command: AutoDistributeCommand
) -> tuple[Scope, dict[str, int]]:
    """The run's scope, and each channel's max attempts (from its retry policy)."""
    now = utcnow()
    channel_ids = list(command.channel_ids) or repos.channels.active_ids()
    channels = lookups.locked_channels(repos, channel_ids)
    if command.video_ids:
        videos = [video_to_domain(v) for v in lookups.videos(repos, command.video_ids)]
        video_ids: list[str] | None = [v.id for v in videos]
    else:
        videos = videos_from_values(repos.videos.ready_values())
        video_ids = None  # every READY video: the database matches them itself
    live = repos.distributions.live_pairs([c.id for c in channels], video_ids)
    scope = Scope(
        mode=command.mode,
        videos=videos,
        channels=[channel_to_domain(c) for c in channels],
        channel_unavailable_until=[
            None if available_now(c, now) else c.unavailable_until for c in channels
        ],
        channel_takes_work=[
            c.active
            and (
                available_now(c, now)
                or (c.unavailable_until is not None and c.unavailable_until < command.end)
            )
            for c in channels
        ],
        live=[LivePair(*row) for row in live],
        start=command.start,
        end=command.end,
        max_channels_per_video=command.max_channels_per_video,
        min_score=command.min_score,
        min_hours_between=command.min_hours_between,
        time_limit_seconds=command.time_limit_seconds,
    )
    return scope, {c.id: policy_for(c).max_attempts for c in channels}


def _assignments(
    instance: Instance,
    plan: Plan,
    command: AutoDistributeCommand,
    run_id: str,
    max_attempts: dict[str, int],
) -> list[dict[str, Any]]:
    """The new distributions of a plan, one per assignment, with reasons and breakdowns."""
    label = f"planned by run {run_id[:8]} ({command.mode.value})"
    values = (
        PlannedValues(
            video_id=pair.video.id,
            channel_id=pair.channel.id,
            source_url=pair.video.source_url,
            scheduled_at=pair.slot_time,
            score=pair.score,
            reason=(
                f"{label}: score {pair.score} on {pair.channel.id}; best eligible score "
                f"{pair.best_eligible_score} over {pair.eligible_channels} eligible channel(s)"
            ),
            details={
                "code": "AUTO",
                "score": _breakdown(pair.breakdown),
                "best_eligible_score": pair.best_eligible_score,
                "eligible_channels": pair.eligible_channels,
            },
            transformations=[transformation_json(t) for t in pair.transformations],
            max_attempts=max_attempts[pair.channel.id],
        )
        for pair in planned_pairs(instance, plan)
    )
    return new_distributions(
        values, method=command.method, actor=command.actor, run_id=run_id, now=utcnow()
    )


_BREAKDOWN_FIELDS = tuple(f.name for f in fields(ScoreBreakdown))


def _breakdown(breakdown: ScoreBreakdown) -> dict[str, int]:
    """`breakdown.as_dict()` without `dataclasses.asdict`'s deep copy of every int."""
    return {name: getattr(breakdown, name) for name in _BREAKDOWN_FIELDS}


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


def _write(
    repos: Repositories, command: AutoDistributeCommand, instance: Instance, result: PlanResult
) -> None:
    """The run, its distributions and one decision per assignment and per skipped video."""
    repos.runs.add(
        models.Run(
            id=result.run_id,
            mode=command.mode.value,
            parameters=dict(command.parameters),
            solver_status=result.status.value,
            objective=result.objective,
            best_bound=result.best_bound,
            gap=result.gap,
            candidate_count=result.candidate_count,
            slot_count=result.slot_count,
            video_count=len(instance.videos),
            channel_count=len(instance.channels),
            assignment_count=len(result.assignments),
            skipped_count=len(result.skipped),
            wall_seconds=result.wall_seconds,
            actor=command.actor,
        )
    )
    repos.distributions.insert_many(result.assignments)
    common = {"actor": command.actor, "method": command.method, "run_id": result.run_id}
    decisions = [
        {
            "kind": DecisionKind.ASSIGNED,
            "reason": row["reason"],
            "video_id": row["video_id"],
            "channel_id": row["channel_id"],
            "distribution_id": row["id"],
            "details": row["details"],
            **common,
        }
        for row in result.assignments
    ]
    decisions += [
        {
            "kind": DecisionKind.SKIPPED,
            "reason": skip.reason,
            "video_id": skip.video_id,
            "channel_id": None,
            "distribution_id": None,
            "details": {"code": skip.code},
            **common,
        }
        for skip in result.skipped
    ]
    repos.decisions.insert_many(decisions)
    repos.flush()
