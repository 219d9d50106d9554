"""Assign, Explain and AutoDistribute requests parsed into commands."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf import json_format

from allocator.problem import Mode
from distribution.v1 import distribution_service_pb2 as svc
from persistence.base import utcnow
from server.api import converters
from server.api.validation import CHANNEL_ID, VIDEO_ID, Violations, validate_request_id
from server.usecases.assign import AssignCommand
from server.usecases.autodistribute import AutoDistributeCommand
from server.usecases.errors import DeadlineExceeded
from server.usecases.explain import ExplainCommand

#: A requested slot may lie at most this far in the past (clock skew between caller and server).
PAST_TOLERANCE = timedelta(minutes=5)
MAX_CHANNELS_PER_ASSIGN = 100
MAX_EXPLAIN_VIDEOS = 100
DEFAULT_HORIZON = timedelta(days=14)
MAX_HORIZON = timedelta(days=62)
DEFAULT_TIME_LIMIT = 30.0
MAX_TIME_LIMIT = 600.0
MAX_VIDEO_IDS = 200_000
#: Share of the call's remaining deadline the solver may use; the rest is for loading and writing.
DEADLINE_SHARE = 0.5


def assign(request: svc.AssignRequest, actor: str) -> AssignCommand:
    """One video onto up to MAX_CHANNELS_PER_ASSIGN channels."""
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
    v.timestamp(request, "scheduled_at", "scheduled_at")
    requested = converters.opt_ts(request, "scheduled_at")
    if requested is not None:
        v.check(requested >= utcnow() - PAST_TOLERANCE, "scheduled_at", "must not be in the past")
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


def auto_distribute(
    request: svc.AutoDistributeRequest, actor: str, deadline: float | None
) -> AutoDistributeCommand:
    """A planning run, defaults applied; `deadline` is the call's remaining seconds."""
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
    return AutoDistributeCommand(
        mode=Mode.FILTER if request.mode == svc.AUTO_DISTRIBUTE_MODE_FILTER else Mode.SCHEDULE,
        video_ids=tuple(request.video_ids),
        channel_ids=tuple(request.channel_ids),
        start=max(start, now),
        end=end,
        max_channels_per_video=request.max_channels_per_video or 1,
        min_score=request.min_score,
        min_hours_between=request.min_hours_between,
        time_limit_seconds=limit,
        dry_run=request.dry_run,
        actor=actor,
        parameters=json_format.MessageToDict(request, preserving_proto_field_name=True),
    )
