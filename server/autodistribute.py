"""AutoDistribute: plan the whole backlog at once, optimally, and write the plan atomically.

One transaction holds the planner lock (an advisory lock on PostgreSQL, the write lock of
BEGIN IMMEDIATE on SQLite) and the scope's channel rows from reading the state to writing the
plan, so a concurrent run or Assign can never book a slot or a pair the plan relies on. The
plan, the run and one decision per assignment and per video left out commit together or not at
all (invariants 3 and 4); dry runs read only.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from google.protobuf import json_format
from sqlalchemy import insert, or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from allocator import filters, scoring
from allocator.planning import Instance, LivePair, Scope, build_instance, skip_reason
from allocator.problem import Mode, Plan
from allocator.solve import solve
from distribution.v1 import distribution_service_pb2 as svc
from persistence import models
from persistence.base import utcnow
from persistence.database import Database
from server import converters
from server.assignment import lock_channels
from server.catalog import available_now
from server.errors import Aborted, DeadlineExceeded, NotFound
from server.idempotency import run_idempotent
from server.retry_policy import policy_for
from server.validation import CHANNEL_ID, VIDEO_ID, Violations, validate_request_id

log = logging.getLogger(__name__)
DEFAULT_HORIZON = timedelta(days=14)
MAX_HORIZON = timedelta(days=62)
DEFAULT_TIME_LIMIT = 30.0
MAX_TIME_LIMIT = 600.0
MAX_VIDEO_IDS = 200_000
#: Assignments and skips carried in the response; ListDistributions/ListDecisions page the rest.
RESPONSE_ITEMS = 1000
#: Share of the call's remaining deadline the solver may use; the rest is for loading and writing.
DEADLINE_SHARE = 0.5
# Any constant works as long as every replica uses the same one.
PLANNER_LOCK_KEY = 0x7664_6973_7400
PLANNER_LOCK_WAIT = "10s"


class _Stages:
    """Wall time per stage of a run, for the log."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = now - self._last
        self._last = now

    def __str__(self) -> str:
        return " ".join(f"{k}={v:.2f}s" for k, v in self.seconds.items())


@dataclass(frozen=True)
class _Request:
    """A validated AutoDistributeRequest with defaults applied."""

    mode: Mode
    method: str
    start: datetime
    end: datetime
    max_channels: int
    time_limit: float


def _validate(request: svc.AutoDistributeRequest, deadline: float | None) -> _Request:
    v = Violations()
    v.check(
        request.mode in (svc.AUTO_DISTRIBUTE_MODE_FILTER, svc.AUTO_DISTRIBUTE_MODE_SCHEDULE),
        "mode",
        "must be AUTO_DISTRIBUTE_MODE_FILTER or AUTO_DISTRIBUTE_MODE_SCHEDULE",
    )
    v.identifiers(request.video_ids, "video_ids", VIDEO_ID, "video", max_items=MAX_VIDEO_IDS)
    v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=10_000)
    v.timestamp(request, "horizon_start", "horizon_start")
    v.timestamp(request, "horizon_end", "horizon_end")
    now = utcnow().replace(microsecond=0)
    start = converters.opt_ts(request, "horizon_start") or now
    end = converters.opt_ts(request, "horizon_end") or start + DEFAULT_HORIZON
    v.check(end > start, "horizon_end", "must be after horizon_start")
    v.check(end - start <= MAX_HORIZON, "horizon_end", f"at most {MAX_HORIZON.days} days")
    v.check(0 <= request.max_channels_per_video <= 1000, "max_channels_per_video", "0..1000")
    v.non_negative(request.min_score, "min_score")
    v.check(
        0 <= request.time_limit_seconds <= MAX_TIME_LIMIT,
        "time_limit_seconds",
        f"must be 0..{MAX_TIME_LIMIT:.0f}",
    )
    v.check(0 <= request.min_hours_between <= 24 * 62, "min_hours_between", "must be 0..1488")
    validate_request_id(request.request_id, v)
    v.raise_if_any()
    limit = request.time_limit_seconds or DEFAULT_TIME_LIMIT
    if deadline is not None:
        if deadline < 1.0:
            raise DeadlineExceeded("less than a second left before the call's deadline")
        limit = min(limit, deadline * DEADLINE_SHARE)
    mode = Mode.FILTER if request.mode == svc.AUTO_DISTRIBUTE_MODE_FILTER else Mode.SCHEDULE
    return _Request(
        mode=mode,
        method="AUTO_FILTER" if mode is Mode.FILTER else "AUTO_SCHEDULE",
        start=max(start, now),
        end=end,
        max_channels=request.max_channels_per_video or 1,
        time_limit=limit,
    )


class AutoDistributor:
    """The AutoDistribute use case."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def run(
        self, request: svc.AutoDistributeRequest, actor: str, deadline: float | None = None
    ) -> svc.AutoDistributeResponse:
        """Plans and (unless dry_run) writes; `deadline` is the call's remaining seconds."""
        params = _validate(request, deadline)

        def work(session: Session) -> svc.AutoDistributeResponse:
            started = time.perf_counter()
            if not request.dry_run:
                self._take_planner_lock(session)
            stages = _Stages()
            scope, max_attempts = self._load_scope(session, request, params)
            stages.mark("load")
            instance = build_instance(scope)
            stages.mark("candidates")
            plan = solve(instance.problem)
            stages.mark("solve")
            run_id = str(uuid.uuid4())
            assignments = _assignment_rows(instance, plan, params, run_id, max_attempts, actor)
            stages.mark("rows")
            response = self._respond(
                session, request, params, instance, plan, run_id, assignments, actor, started
            )
            stages.mark("write")
            log.info("AutoDistribute %s: %s; solver %s", response.run_id, stages, plan.stats)
            return response

        if request.dry_run:
            return self._db.transaction(work, readonly=True)
        return run_idempotent(
            self._db,
            "AutoDistribute",
            request,
            request.request_id,
            svc.AutoDistributeResponse,
            work,
        )

    def _take_planner_lock(self, session: Session) -> None:
        if self._db.dialect != "postgresql":
            return  # BEGIN IMMEDIATE already made this the only writer
        try:
            session.execute(text(f"SET LOCAL lock_timeout = '{PLANNER_LOCK_WAIT}'"))
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PLANNER_LOCK_KEY})
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "55P03":
                raise Aborted(
                    f"another AutoDistribute run held the planner lock for {PLANNER_LOCK_WAIT}; "
                    "retry when it has finished"
                ) from exc
            raise

    def _load_scope(
        self, session: Session, request: svc.AutoDistributeRequest, params: _Request
    ) -> tuple[Scope, dict[str, int]]:
        """The run's scope, and each channel's max attempts (from its retry policy)."""
        now = utcnow()
        channel_rows = self._channels(session, list(request.channel_ids))
        video_rows = self._videos(session, list(request.video_ids))
        video_ids = {v.id for v in video_rows}
        channel_ids = {c.id for c in channel_rows}
        D = models.Distribution
        query = select(D.video_id, D.channel_id, D.source_url, D.scheduled_at).where(
            D.state.in_(models.LIVE_STATES)
        )
        if len(video_ids) < 30_000:  # beyond that, reading every live row is cheaper
            query = query.where(or_(D.channel_id.in_(channel_ids), D.video_id.in_(video_ids)))
        live = session.execute(query).all()
        scope = Scope(
            mode=params.mode,
            videos=[converters.video_row_to_domain(v) for v in video_rows],
            channels=[converters.channel_row_to_domain(c) for c in channel_rows],
            channel_unavailable_until=[
                None if available_now(c, now) else c.unavailable_until for c in channel_rows
            ],
            channel_takes_work=[
                c.active
                and (
                    available_now(c, now)
                    or (c.unavailable_until is not None and c.unavailable_until < params.end)
                )
                for c in channel_rows
            ],
            live=[LivePair(*row) for row in live],
            start=params.start,
            end=params.end,
            max_channels_per_video=params.max_channels,
            min_score=request.min_score,
            min_hours_between=request.min_hours_between,
            time_limit_seconds=params.time_limit,
        )
        return scope, {c.id: policy_for(c).max_attempts for c in channel_rows}

    def _channels(self, session: Session, ids: list[str]) -> list[models.Channel]:
        if not ids:
            rows = list(
                session.scalars(
                    select(models.Channel)
                    .where(models.Channel.active.is_(True))
                    .order_by(models.Channel.id)
                )
            )
            lock_channels(session, [r.id for r in rows])
            return rows
        found = lock_channels(session, ids)
        for i, cid in enumerate(ids):
            if cid not in found:
                raise NotFound("channel", cid, field=f"channel_ids[{i}]")
        return [found[cid] for cid in ids]

    def _videos(self, session: Session, ids: list[str]) -> list[models.Video]:
        V = models.Video
        if not ids:
            return list(session.scalars(select(V).where(V.state == "READY").order_by(V.id)))
        found = {v.id: v for v in session.scalars(select(V).where(V.id.in_(ids)))}
        for i, vid in enumerate(ids):
            if vid not in found:
                raise NotFound("video", vid, field=f"video_ids[{i}]")
        return [found[vid] for vid in ids]

    def _respond(
        self,
        session: Session,
        request: svc.AutoDistributeRequest,
        params: _Request,
        instance: Instance,
        plan: Plan,
        run_id: str,
        assignments: list[dict[str, Any]],
        actor: str,
        started: float,
    ) -> svc.AutoDistributeResponse:
        skipped = _skips(instance, plan)
        response = svc.AutoDistributeResponse(
            run_id=run_id,
            solver_status=converters.enum_value(
                svc.SolverStatus, plan.status.value, "SOLVER_STATUS_"
            ),
            objective=plan.objective,
            best_bound=plan.best_bound,
            gap=plan.gap,
            candidate_count=instance.problem.num_candidates,
            slot_count=instance.problem.num_slots,
            assignment_count=len(assignments),
            skipped_count=len(skipped),
            truncated=len(assignments) > RESPONSE_ITEMS or len(skipped) > RESPONSE_ITEMS,
            dry_run=request.dry_run,
        )
        filled = np.bincount(plan.channel, minlength=len(instance.channels))
        score = np.zeros(len(instance.channels), np.int64)
        np.add.at(score, plan.channel, plan.score)  # exact integers, unlike bincount weights
        free = instance.problem.channel_free
        for j in sorted(range(len(instance.channels)), key=lambda j: instance.channels[j].id):
            response.channels.add(
                channel_id=instance.channels[j].id,
                free_slots=int(free[j]),
                filled=int(filled[j]),
                total_score=int(score[j]),
            )
        for row in assignments[:RESPONSE_ITEMS]:
            response.assignments.append(
                converters.distribution_to_proto(models.Distribution(**row))
            )
        for video_id, code, reason in skipped[:RESPONSE_ITEMS]:
            response.skipped.add(video_id=video_id, reason=reason, code=code)
        response.wall_seconds = time.perf_counter() - started
        if not request.dry_run:
            _persist(session, request, params, instance, response, assignments, skipped, actor)
            response.wall_seconds = time.perf_counter() - started
        return response


def _assignment_rows(
    instance: Instance,
    plan: Plan,
    params: _Request,
    run_id: str,
    max_attempts: dict[str, int],
    actor: str,
) -> list[dict[str, Any]]:
    """The distribution rows of a plan, one per assignment, with reasons and breakdowns."""
    now = utcnow()
    rows = []
    for k in range(len(plan.video)):
        i, j = int(plan.video[k]), int(plan.channel[k])
        video, channel = instance.videos[i], instance.channels[j]
        match = filters.check(video, channel)
        breakdown = scoring.score(video, channel, match)
        best = int(instance.best_eligible_score[i])
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "video_id": video.id,
                "channel_id": channel.id,
                "source_url": video.source_url,
                "method": params.method,
                "state": "SCHEDULED",
                "scheduled_at": instance.slot_times[int(plan.slot[k])],
                "score": int(plan.score[k]),
                "reason": (
                    f"planned by run {run_id[:8]} ({params.mode.value}): score "
                    f"{int(plan.score[k])} on {channel.id}; best eligible score {best} over "
                    f"{int(instance.eligible_count[i])} eligible channel(s)"
                ),
                "details": {
                    "code": "AUTO",
                    "score": breakdown.as_dict(),
                    "best_eligible_score": best,
                    "eligible_channels": int(instance.eligible_count[i]),
                },
                "transformations": [
                    converters.transformation_to_json(t) for t in match.transformations
                ],
                "attempts": 0,
                "max_attempts": max_attempts[channel.id],
                "last_error": "",
                "unconfirmed": False,
                "external_id": "",
                "external_url": "",
                "run_id": run_id,
                "actor": actor,
                "duplicate_override": False,
                "create_time": now,
                "update_time": now,
            }
        )
    return rows


def _skips(instance: Instance, plan: Plan) -> list[tuple[str, str, str]]:
    n = len(instance.videos)
    assigned = np.zeros(n, bool)
    assigned[plan.video] = True
    has_candidates = np.zeros(n, bool)
    has_candidates[instance.problem.cand_video] = True
    return [
        (instance.videos[i].id, *skip_reason(instance, i, bool(has_candidates[i])))
        for i in map(int, np.flatnonzero(~assigned))
    ]


def _persist(
    session: Session,
    request: svc.AutoDistributeRequest,
    params: _Request,
    instance: Instance,
    response: svc.AutoDistributeResponse,
    assignments: list[dict[str, Any]],
    skipped: list[tuple[str, str, str]],
    actor: str,
) -> None:
    run_id = response.run_id
    session.add(
        models.Run(
            id=run_id,
            mode=params.mode.value,
            parameters=json_format.MessageToDict(request, preserving_proto_field_name=True),
            solver_status=svc.SolverStatus.Name(response.solver_status).removeprefix(
                "SOLVER_STATUS_"
            ),
            objective=response.objective,
            best_bound=response.best_bound,
            gap=response.gap,
            candidate_count=response.candidate_count,
            slot_count=response.slot_count,
            video_count=len(instance.videos),
            channel_count=len(instance.channels),
            assignment_count=len(assignments),
            skipped_count=len(skipped),
            wall_seconds=response.wall_seconds,
            actor=actor,
        )
    )
    if assignments:
        session.execute(insert(models.Distribution), assignments)
    decisions = [
        {
            "kind": "ASSIGNED",
            "reason": row["reason"],
            "actor": actor,
            "video_id": row["video_id"],
            "channel_id": row["channel_id"],
            "distribution_id": row["id"],
            "method": params.method,
            "run_id": run_id,
            "details": row["details"],
        }
        for row in assignments
    ]
    decisions += [
        {
            "kind": "SKIPPED",
            "reason": reason,
            "actor": actor,
            "video_id": video_id,
            "channel_id": None,
            "distribution_id": None,
            "method": params.method,
            "run_id": run_id,
            "details": {"code": code},
        }
        for video_id, code, reason in skipped
    ]
    if decisions:
        session.execute(insert(models.Decision), decisions)
    session.flush()
