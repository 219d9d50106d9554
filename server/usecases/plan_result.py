"""What a planning run answers and records: its result, and the run row that keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from allocator.planning import Instance
from allocator.problem import Plan, SolverStatus
from allocator.replan import Change
from persistence import models
from persistence.enums import RunState
from server.usecases.plan_quotas import QuotaUse
from server.usecases.plan_scope import AutoDistributeCommand


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
    changes: list[Change] = field(default_factory=list)
    state: RunState = RunState.APPLIED
    expire_time: datetime | None = None
    quota: list[QuotaUse] = field(default_factory=list)


def placements(instance: Instance, plan: Plan) -> list[tuple[str, datetime]]:
    """(channel id, scheduled_at) of every assignment of the plan."""
    channels, times = instance.channels, instance.slot_times
    return [
        (channels[j].id, times[s])
        for j, s in zip(plan.channel.tolist(), plan.slot.tolist(), strict=True)
    ]


def run_row(command: AutoDistributeCommand, instance: Instance, result: PlanResult) -> models.Run:
    """The run's record (APPLIED unless `result` says otherwise)."""
    return models.Run(
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
        state=result.state,
        expire_time=result.expire_time,
        change_count=len(result.changes),
    )
