"""Assign, Explain and AutoDistribute requests parsed into commands."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from google.protobuf import json_format

from allocator.problem import Mode
from distribution.v1 import distribution_service_pb2 as svc
from persistence.base import utcnow
from server.api.validation import (
    CHANNEL_ID,
    DISTRIBUTION_ID,
    MIN_TIME,
    VIDEO_ID,
    Violations,
    validate_request_id,
)
from server.usecases.assign import AssignCommand
from server.usecases.autodistribute import AutoDistributeCommand
from server.usecases.errors import DeadlineExceeded, InvalidArgument
from server.usecases.explain import ExplainCommand
from server.usecases.proposals import ApplyRunCommand
from server.usecases.suggest import DEFAULT_LIMIT, SuggestCommand

#: A requested slot may lie at most this far in the past (clock skew between caller and server).
PAST_TOLERANCE = timedelta(minutes=5)
MAX_CHANNELS_PER_ASSIGN = 100
MAX_EXPLAIN_VIDEOS = 100
MAX_SUGGESTIONS = 50
DEFAULT_HORIZON = timedelta(days=14)
MAX_HORIZON = timedelta(days=62)
DEFAULT_TIME_LIMIT = 30.0
MAX_TIME_LIMIT = 600.0
MAX_VIDEO_IDS = 200_000
DIGEST = re.compile(r"[0-9a-f]{64}")
#: Penalty per distribution a re-planning run moves off its channel or drops (score units).
MAX_CHANGE_PENALTY = 10_000_000
#: Share of the call's remaining deadline the solver may use; the rest is for loading and writing.
DEADLINE_SHARE = 0.5


def assign(request: svc.AssignRequest, actor: str) -> AssignCommand:
    """One video onto up to MAX_CHANNELS_PER_ASSIGN channels (see `timely` for the slot time)."""
    v = Violations()
    v.identifier(request.video_id, "video_id", VIDEO_ID, "video")
    v.identifiers(
        request.channel_ids,
        "channel_ids",
        CHANNEL_ID,
        "channel",
        max_items=MAX_CHANNELS_PER_ASSIGN,
        required=True,
    )
    requested = v.time(request, "scheduled_at", "scheduled_at")
    v.text(request.note, "note")
    validate_request_id(request.request_id, v)
    v.raise_if_any()
    return AssignCommand(
        video_id=request.video_id,
        channel_ids=tuple(request.channel_ids),
        force=request.force,
        allow_duplicate=request.allow_duplicate,
        scheduled_at=requested,
        note=request.note,
        actor=actor,
    )


def timely(command: AssignCommand) -> AssignCommand:
    """The command, unless its slot lies in the past. Checked only when the call is applied
    for the first time: a replay of an applied request gets its stored answer, however late."""
    requested = command.scheduled_at
    if requested is not None and requested < utcnow() - PAST_TOLERANCE:
        raise InvalidArgument.one("scheduled_at", "must not be in the past")
    return command


def explain(request: svc.ExplainRequest) -> ExplainCommand:
    """Up to MAX_EXPLAIN_VIDEOS videos against some (or every) channel."""
    v = Violations()
    v.identifiers(
        request.video_ids,
        "video_ids",
        VIDEO_ID,
        "video",
        max_items=MAX_EXPLAIN_VIDEOS,
        required=True,
    )
    v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=1000)
    v.raise_if_any()
    return ExplainCommand(tuple(request.video_ids), tuple(request.channel_ids))


def suggest_placements(request: svc.SuggestPlacementsRequest) -> SuggestCommand:
    """One video against some (or every active) channel, options before horizon_end."""
    v = Violations()
    v.identifier(request.video_id, "video_id", VIDEO_ID, "video")
    v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=1000)
    v.in_range(request.limit, 0, MAX_SUGGESTIONS, "limit")
    end = v.time(request, "horizon_end", "horizon_end")
    if end is not None:
        now = utcnow()
        v.check(end > now, "horizon_end", "must be in the future")
        v.check(end - now <= MAX_HORIZON, "horizon_end", f"at most {MAX_HORIZON.days} days ahead")
    v.raise_if_any()
    return SuggestCommand(
        request.video_id, tuple(request.channel_ids), request.limit or DEFAULT_LIMIT, end
    )


@dataclass(frozen=True)
class PlanDraft:
    """An AutoDistributeRequest whose fields are valid; `resolve` fixes what depends on the
    clock and on the call's deadline when the run really starts."""

    command: AutoDistributeCommand  # start/end/time limit still as the request gave them
    start: datetime | None
    end: datetime | None


def auto_distribute(request: svc.AutoDistributeRequest, actor: str) -> PlanDraft:
    """A planning run's fields, checked; defaults that depend on the clock come in `resolve`."""
    v = Violations()
    v.check(
        request.mode in (svc.AUTO_DISTRIBUTE_MODE_FILTER, svc.AUTO_DISTRIBUTE_MODE_SCHEDULE),
        "mode",
        "must be AUTO_DISTRIBUTE_MODE_FILTER or AUTO_DISTRIBUTE_MODE_SCHEDULE",
    )
    v.identifiers(request.video_ids, "video_ids", VIDEO_ID, "video", max_items=MAX_VIDEO_IDS)
    v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=10_000)
    start = v.time(request, "horizon_start", "horizon_start")
    end = v.time(request, "horizon_end", "horizon_end")
    if start is not None and end is not None:
        v.check(end > start, "horizon_end", "must be after horizon_start")
        v.check(end - start <= MAX_HORIZON, "horizon_end", f"at most {MAX_HORIZON.days} days")
    v.check(0 <= request.max_channels_per_video <= 1000, "max_channels_per_video", "0..1000")
    v.check(0 <= request.max_channels_per_platform <= 1000, "max_channels_per_platform", "0..1000")
    v.non_negative(request.min_score, "min_score")
    v.check(
        0 <= request.time_limit_seconds <= MAX_TIME_LIMIT,
        "time_limit_seconds",
        f"must be 0..{MAX_TIME_LIMIT:.0f}",
    )
    v.check(0 <= request.min_hours_between <= 24 * 62, "min_hours_between", "must be 0..1488")
    validate_request_id(request.request_id, v)
    freeze_until = v.time(request, "freeze_until", "freeze_until")
    v.check(
        request.replan or not (request.HasField("freeze_until") or request.change_penalty),
        "replan",
        "must be true when freeze_until or change_penalty is set",
    )
    v.check(
        0 <= request.change_penalty <= MAX_CHANGE_PENALTY,
        "change_penalty",
        f"0..{MAX_CHANGE_PENALTY}",
    )
    for name in ("expected_input_digest", "expected_plan_digest"):
        if value := getattr(request, name):
            v.check(
                DIGEST.fullmatch(value) is not None,
                name,
                f"the {name.removeprefix('expected_')} of a dry run: 64 lowercase hex digits",
            )
    v.raise_if_any()
    mode = Mode.FILTER if request.mode == svc.AUTO_DISTRIBUTE_MODE_FILTER else Mode.SCHEDULE
    command = AutoDistributeCommand(
        mode=mode,
        video_ids=tuple(request.video_ids),
        channel_ids=tuple(request.channel_ids),
        start=start or MIN_TIME,
        end=end or MIN_TIME,
        max_channels_per_video=request.max_channels_per_video or 1,
        min_score=request.min_score,
        min_hours_between=request.min_hours_between,
        time_limit_seconds=request.time_limit_seconds or DEFAULT_TIME_LIMIT,
        dry_run=request.dry_run,
        actor=actor,
        parameters=json_format.MessageToDict(request, preserving_proto_field_name=True),
        expected_input_digest=request.expected_input_digest,
        expected_plan_digest=request.expected_plan_digest,
        replan=request.replan,
        freeze_until=freeze_until,
        change_penalty=request.change_penalty or 1,
        max_channels_per_platform=request.max_channels_per_platform,
    )
    return PlanDraft(command, start, end)


def apply_run(request: svc.ApplyRunRequest, actor: str) -> ApplyRunCommand:
    """The proposal to write."""
    v = Violations()
    v.identifier(request.run_id, "run_id", DISTRIBUTION_ID, "run")
    validate_request_id(request.request_id, v)
    v.raise_if_any()
    return ApplyRunCommand(request.run_id, actor)


def resolve(draft: PlanDraft, deadline: float | None) -> AutoDistributeCommand:
    """The run as it starts now: the horizon from now (a start in the past moves to now, an
    unset end is 14 days after the start) and the solver's share of the remaining deadline.

    Checked only when the run is applied for the first time: a replay of an applied request
    gets its stored answer even after its horizon has passed or with a short deadline."""
    now = utcnow().replace(microsecond=0)
    start = draft.start or now
    end = draft.end or start + DEFAULT_HORIZON
    v = Violations()
    v.check(end > start, "horizon_end", "must be after horizon_start")
    v.check(end - start <= MAX_HORIZON, "horizon_end", f"at most {MAX_HORIZON.days} days")
    v.check(end > now, "horizon_end", "the horizon has passed")
    v.raise_if_any()
    limit = draft.command.time_limit_seconds
    if deadline is not None:
        if deadline < 1.0:
            raise DeadlineExceeded("less than a second left before the call's deadline")
        limit = min(limit, deadline * DEADLINE_SHARE)
    return replace(draft.command, start=max(start, now), end=end, time_limit_seconds=limit)
