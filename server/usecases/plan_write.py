"""Writing a plan in the caller's transaction, shared by AutoDistribute and ApplyRun: the
dropped and moved distributions (re-planning), the new ones, one decision per change and per
video left out, and the older proposals the write supersedes.

Every moved or dropped distribution is locked and checked first: a worker may have leased it
since the plan was made, and then nothing is written (Aborted names it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from allocator.planning import PlannedPair
from allocator.replan import ADDED, DROPPED, MOVED, Change
from allocator.scoring import ScoreBreakdown
from persistence.base import utcnow
from persistence.enums import DecisionKind, DistributionMethod, DistributionState
from persistence.repositories import Repositories
from server.usecases.domain_values import transformation_json
from server.usecases.errors import Aborted
from server.usecases.lifecycle import Event, PlannedValues, apply, new_distributions

_BREAKDOWN_FIELDS = tuple(f.name for f in fields(ScoreBreakdown))
_CHANGE_FIELDS = tuple(f.name for f in fields(Change) if f.name != "distribution_id")


def _breakdown(breakdown: ScoreBreakdown) -> dict[str, int]:
    """`breakdown.as_dict()` without `dataclasses.asdict`'s deep copy of every int."""
    return {name: getattr(breakdown, name) for name in _BREAKDOWN_FIELDS}


def assignment_rows(
    pairs: Iterable[PlannedPair],
    *,
    label: str,
    method: DistributionMethod,
    actor: str,
    run_id: str,
    max_attempts: Mapping[str, int],
) -> list[dict[str, Any]]:
    """The new distributions of a plan (column values), one per pair, with reasons."""
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
            slot_weight=pair.slot_weight,
        )
        for pair in pairs
    )
    return new_distributions(values, method=method, actor=actor, run_id=run_id, now=utcnow())


def with_ids(changes: Sequence[Change], assignments: Sequence[Mapping[str, Any]]) -> list[Change]:
    """The changes with each ADDED one carrying its new distribution's id (both lists are in
    plan order)."""
    ids = iter([row["id"] for row in assignments])
    # The other fields as keywords: `dataclasses.replace` looks the fields up again for each
    # of a plan's 23k changes, at twice the cost.
    return [
        Change(**{name: getattr(c, name) for name in _CHANGE_FIELDS}, distribution_id=next(ids))
        if c.kind == ADDED
        else c
        for c in changes
    ]


def write_plan(
    repos: Repositories,
    *,
    run_id: str,
    method: DistributionMethod,
    actor: str,
    assignments: Sequence[Mapping[str, Any]],
    changes: Sequence[Change],
    skipped: Sequence[tuple[str, str, str]],
    applied_at: datetime,
) -> None:
    """Drops and moves (checked against leases first), then the new distributions, then one
    decision per change and per skipped (video_id, code, reason); proposals made before
    `applied_at` are superseded."""
    moves = {c.distribution_id: c for c in changes if c.kind == MOVED}
    drops = {c.distribution_id: c for c in changes if c.kind == DROPPED}
    rows = repos.distributions.lock_many([*moves, *drops])
    for change in [*drops.values(), *moves.values()]:
        row = rows.get(change.distribution_id)
        if (
            row is None
            or row.state is not DistributionState.SCHEDULED
            or row.lease_token is not None
            or row.scheduled_at != change.from_time
        ):
            state = "gone" if row is None else f"{row.state} at {row.scheduled_at.isoformat()}"
            raise Aborted(
                f"distribution {change.distribution_id} changed since the plan was made (now "
                f"{state}); nothing was written. Plan again"
            )
    for row_id in [*drops, *moves]:
        # Moved rows leave the live states for a moment: the unique slot index would
        # otherwise refuse two distributions trading slots.
        apply(rows[row_id], Event.CANCEL)
    repos.flush()
    for row_id, change in moves.items():
        rows[row_id].scheduled_at = change.to_time  # type: ignore[assignment]
        rows[row_id].state = DistributionState.SCHEDULED
    repos.flush()
    repos.distributions.insert_many(assignments)
    common = {"actor": actor, "method": method, "run_id": run_id}
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
        for row in assignments
    ]
    decisions += [
        {
            "kind": DecisionKind.MOVED if c.kind == MOVED else DecisionKind.DROPPED,
            "reason": c.reason,
            "video_id": c.video_id,
            "channel_id": c.channel_id,
            "distribution_id": c.distribution_id,
            "details": _change_details(c),
            **common,
        }
        for c in [*moves.values(), *drops.values()]
    ]
    decisions += [
        {
            "kind": DecisionKind.SKIPPED,
            "reason": reason,
            "video_id": video_id,
            "channel_id": None,
            "distribution_id": None,
            "details": {"code": code},
            **common,
        }
        for video_id, code, reason in skipped
    ]
    repos.decisions.insert_many(decisions)
    repos.runs.supersede(applied_at)
    repos.flush()


def _change_details(change: Change) -> dict[str, Any]:
    details: dict[str, Any] = {"code": change.kind, "score": change.score}
    if change.from_time is not None:
        details["from"] = change.from_time.isoformat()
    if change.to_time is not None:
        details["to"] = change.to_time.isoformat()
    return details
