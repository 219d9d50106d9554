"""A dry run's plan stored as a PROPOSED run, compactly: one list per change (kind,
distribution, video, channel, from, to, score, reason, and for an ADDED one the video's best
eligible score and eligible channel count), the videos left out, the channel fill and the
digests. ApplyRun (server/usecases/proposals.py) reads it back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from allocator.planning import Instance
from allocator.replan import ADDED, Change
from persistence import models
from persistence.base import utcnow
from persistence.enums import RunState
from persistence.repositories import Repositories
from server.usecases.plan_result import PlanResult, run_row
from server.usecases.plan_scope import AutoDistributeCommand

VERSION = 1


def propose(
    repos: Repositories,
    command: AutoDistributeCommand,
    instance: Instance,
    result: PlanResult,
    read_at: datetime,
) -> PlanResult:
    """Stores a dry run's plan as a PROPOSED run; the result says until when it applies.

    The run's create_time is `read_at`, when the run began to read the state: ApplyRun
    refuses whatever changed after it, a change made while the dry run solved included."""
    # A proposal's new distributions get their ids when it is applied.
    changes = [replace(c, distribution_id="") if c.kind == ADDED else c for c in result.changes]
    proposed = replace(
        result,
        state=RunState.PROPOSED,
        expire_time=utcnow() + command.proposal_ttl,
        changes=changes,
    )
    row = run_row(command, instance, proposed)
    row.create_time = read_at
    row.proposal = encode(proposed)
    repos.runs.add(row)
    repos.flush()
    return proposed


def state_of(run: models.Run, now: datetime) -> RunState:
    """The run's state as callers see it: a PROPOSED run past its expire_time is EXPIRED."""
    if run.state is RunState.PROPOSED and run.expire_time is not None and run.expire_time <= now:
        return RunState.EXPIRED
    return RunState(run.state)


def _epoch(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp())


def _time(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def item_of(change: Change, old: Sequence[Any] = (0,) * 10) -> list[Any]:
    """One change as the proposal stores it (`old[8:10]`: an ADDED one's best eligible score
    and eligible channel count)."""
    return [
        change.kind,
        change.distribution_id,
        change.video_id,
        change.channel_id,
        _epoch(change.from_time),
        _epoch(change.to_time),
        change.score,
        change.reason,
        old[8],
        old[9],
    ]


def change_of(item: Sequence[Any]) -> Change:
    """A stored change back as a Change."""
    kind, distribution_id, video_id, channel_id, start, end, score, reason = item[:8]
    return Change(
        kind, video_id, channel_id, _time(start), _time(end), int(score), reason, distribution_id
    )


def encode(result: PlanResult) -> dict[str, Any]:
    """A plan's proposal: its changes, skipped videos, channel fill and digests."""
    added = iter(result.assignments)
    items = []
    for change in result.changes:
        extra: Sequence[Any] = (0,) * 10
        if change.kind == ADDED:
            details = next(added)["details"]
            extra = (0,) * 8 + (details["best_eligible_score"], details["eligible_channels"])
        items.append(item_of(change, extra))
    return {
        "version": VERSION,
        "input_digest": result.input_digest,
        "plan_digest": result.plan_digest,
        "changes": items,
        "skipped": [[s.video_id, s.code, s.reason] for s in result.skipped],
        "channels": [
            [c.channel_id, c.free_slots, c.filled, c.total_score] for c in result.channels
        ],
    }
