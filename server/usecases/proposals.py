"""ApplyRun and ListRunChanges: a proposal (a dry run's plan, server/usecases/proposal_store.py)
written exactly, or refused naming what changed; and its changes, paged.

ApplyRun re-checks everything the plan relies on, in one transaction under the planner lock
with the channels row-locked: the proposal is PROPOSED and not expired; no channel or video
it touches changed since (update_time), every video is READY; no live distribution appeared
since on its channels or of its videos; every distribution it moves or drops is still
SCHEDULED where it was and not leased. Then it writes the plan (`plan_write.write_plan`) and
supersedes the proposals made before it; otherwise Aborted names the first thing that
changed and nothing is written. Scores, transformations and reasons of the new distributions
are recomputed from the unchanged video and channel, and must equal the proposal's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from allocator import filters, scoring
from allocator.planning import PlannedPair
from allocator.problem import SolverStatus
from allocator.replan import ADDED, Change
from persistence import models
from persistence.base import utcnow
from persistence.enums import DistributionMethod, RunState, VideoState
from persistence.repositories import PlannerLockTimeout, Repositories
from server.usecases.domain_values import channel_to_domain, video_to_domain
from server.usecases.errors import Aborted, FailedPrecondition, NotFound
from server.usecases.plan_quotas import quota_after, recheck_pools
from server.usecases.plan_result import ChannelFill, PlanResult, Skip
from server.usecases.plan_write import assignment_rows, with_ids, write_plan
from server.usecases.proposal_store import change_of, item_of, state_of
from server.usecases.retry_policy import policy_for

PLANNER_LOCK_WAIT = "10s"


@dataclass(frozen=True)
class ApplyRunCommand:
    """Write the plan of PROPOSED run `run_id`."""

    run_id: str
    actor: str


def apply_run(repos: Repositories, command: ApplyRunCommand) -> PlanResult:
    """Writes exactly the proposed plan, or raises Aborted naming what changed."""
    try:
        repos.planner_lock.acquire(PLANNER_LOCK_WAIT)
    except PlannerLockTimeout as exc:
        raise Aborted(f"another run held the planner lock for {PLANNER_LOCK_WAIT}") from exc
    run = repos.runs.lock(command.run_id)
    if run is None:
        raise NotFound("run", command.run_id, field="run_id")
    now = utcnow()
    state = state_of(run, now)
    if state is not RunState.PROPOSED:
        expired = state is RunState.EXPIRED and run.expire_time is not None
        when = f" at {run.expire_time.isoformat()}" if expired else ""  # type: ignore[union-attr]
        raise FailedPrecondition(
            f"run {run.id} is {state.value}{when}; only a PROPOSED run can be applied "
            "(make a new dry run)",
            metadata={"state": state.value},
        )
    stored = run.proposal or {}
    changes = [change_of(item) for item in stored["changes"]]
    added = [
        (c, item) for c, item in zip(changes, stored["changes"], strict=True) if c.kind == ADDED
    ]
    pairs, max_attempts = _recheck(repos, run, changes, added)
    method = (
        DistributionMethod.AUTO_FILTER if run.mode == "FILTER" else DistributionMethod.AUTO_SCHEDULE
    )
    assignments = assignment_rows(
        pairs,
        label=f"planned by run {run.id[:8]} ({run.mode}), applied by {command.actor}",
        method=method,
        actor=command.actor,
        run_id=run.id,
        max_attempts=max_attempts,
    )
    changes = with_ids(changes, assignments)
    skipped = [(v, code, reason) for v, code, reason in stored["skipped"]]
    write_plan(
        repos,
        run_id=run.id,
        method=method,
        actor=command.actor,
        assignments=assignments,
        changes=changes,
        skipped=skipped,
        applied_at=run.create_time,
    )
    run.state = RunState.APPLIED
    run.proposal = {
        **stored,
        "changes": [item_of(c, item) for c, item in zip(changes, stored["changes"], strict=True)],
    }
    repos.flush()
    result = _result(run, stored, changes, assignments, skipped)
    times = [c.to_time for c in changes if c.to_time is not None]
    channel_ids = sorted({c.channel_id for c in changes})
    return replace(result, quota=quota_after(repos, channel_ids, times))


def list_changes(
    repos: Repositories, run_id: str, offset: int, size: int
) -> tuple[list[Change], int | None]:
    """A page of a proposed (or applied-from-proposal) run's changes; the next offset."""
    stored = repos.runs.proposal(run_id)
    if stored is None:
        if repos.runs.get(run_id) is None:
            raise NotFound("run", run_id, field="run_id")
        raise FailedPrecondition(
            f"run {run_id} was written directly: its changes are its distributions "
            "(ListDistributions by run_id) and its decisions (ListDecisions by run_id)"
        )
    items = stored["changes"]
    page = [change_of(item) for item in items[offset : offset + size]]
    return page, offset + size if offset + size < len(items) else None


def _recheck(
    repos: Repositories,
    run: models.Run,
    changes: Sequence[Change],
    added: Sequence[tuple[Change, list[Any]]],
) -> tuple[list[PlannedPair], dict[str, int]]:
    """Aborted naming the first channel, video or slot that changed since the proposal; else
    the plan's new pairs, scored again, and each channel's max attempts."""
    since = run.create_time
    channel_ids = sorted({c.channel_id for c in changes})
    channels = repos.channels.lock(channel_ids)
    for cid in channel_ids:
        channel = channels.get(cid)
        if channel is None or channel.update_time > since:
            raise Aborted(_changed(run, f"channel {cid}", channel))
    video_ids = sorted({c.video_id for c, _ in added})
    videos = repos.videos.by_ids(video_ids)
    for vid in video_ids:
        video = videos.get(vid)
        if video is None or video.update_time > since:
            raise Aborted(_changed(run, f"video {vid}", video))
        if video.state is not VideoState.READY:
            raise Aborted(f"video {vid} is {video.state}, not READY; nothing was written")
    newer = repos.distributions.first_live_since(channel_ids, video_ids, since)
    if newer is not None:
        raise Aborted(
            f"distribution {newer.id} (video {newer.video_id} on {newer.channel_id} at "
            f"{newer.scheduled_at.isoformat()}) was made after proposal {run.id}; nothing "
            "was written. Make a new dry run"
        )
    placed = [(c.channel_id, c.to_time) for c in changes if c.to_time is not None]
    recheck_pools(repos, run.id, since, channel_ids, placed)
    domain_channels = {cid: channel_to_domain(row) for cid, row in channels.items()}
    rules = {cid: filters.compile_rules(c) for cid, c in domain_channels.items()}
    pairs = []
    for change, item in added:
        planned = video_to_domain(videos[change.video_id])
        target = domain_channels[change.channel_id]
        match = filters.evaluate(planned, rules[change.channel_id])
        breakdown = scoring.score(planned, target, match)
        if not match.eligible or breakdown.total != change.score:
            raise Aborted(
                f"video {planned.id} on {target.id} now scores {breakdown.total}, not "
                f"{change.score}; nothing was written. Make a new dry run"
            )
        assert change.to_time is not None
        pairs.append(
            PlannedPair(
                planned,
                target,
                change.to_time,
                change.score,
                breakdown,
                match.transformations,
                int(item[8]),
                int(item[9]),
            )
        )
    return pairs, {cid: policy_for(row).max_attempts for cid, row in channels.items()}


def _changed(run: models.Run, what: str, row: models.Channel | models.Video | None) -> str:
    now = "is gone" if row is None else f"changed at {row.update_time.isoformat()}"
    return (
        f"{what} {now}, after proposal {run.id} was made; nothing was written. Make a new dry run"
    )


def _result(
    run: models.Run,
    stored: dict[str, Any],
    changes: list[Change],
    assignments: list[dict[str, Any]],
    skipped: list[tuple[str, str, str]],
) -> PlanResult:
    return PlanResult(
        run_id=run.id,
        status=SolverStatus(run.solver_status),
        objective=run.objective,
        best_bound=run.best_bound,
        gap=run.gap,
        candidate_count=run.candidate_count,
        slot_count=run.slot_count,
        assignments=assignments,
        skipped=[Skip(*s) for s in skipped],
        channels=[ChannelFill(*c) for c in stored["channels"]],
        wall_seconds=run.wall_seconds,
        dry_run=False,
        input_digest=stored["input_digest"],
        plan_digest=stored["plan_digest"],
        changes=changes,
        state=RunState.APPLIED,
    )
