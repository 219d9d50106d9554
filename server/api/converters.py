"""Conversions between API messages and stored rows: the only place that builds resources.

Channel configuration (filters, preferences, schedule, transformations, retry policy) is stored
as the API's own JSON (proto field names), so `channel_config` writes it and `channel_to_proto`
reads it back; the use cases read the same JSON into domain values (usecases/domain_values.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from allocator.replan import Change
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from persistence.base import utcnow
from server.usecases import proposal_store
from server.usecases.availability import available_now
from server.usecases.domain_values import VersionedCache

CONFIG_FIELDS = (
    "filters",
    "preferences",
    "schedule",
    "transformations",
    "retry_policy",
    "missed_slot_policy",
)


# --- time ---------------------------------------------------------------------------------


def ts_to_dt(ts: timestamp_pb2.Timestamp) -> datetime:
    """A Timestamp as an aware UTC datetime."""
    return ts.ToDatetime(tzinfo=UTC)


def opt_ts(message: Any, field: str) -> datetime | None:
    """The Timestamp field `field` of `message` as a datetime, or None when unset."""
    return ts_to_dt(getattr(message, field)) if message.HasField(field) else None


def dt_to_ts(value: datetime) -> timestamp_pb2.Timestamp:
    """An aware datetime as a Timestamp."""
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def _set_ts(message: Any, field: str, value: datetime | None) -> None:
    if value is not None:
        getattr(message, field).CopyFrom(dt_to_ts(value))


def to_struct(values: dict[str, Any]) -> struct_pb2.Struct:
    """A JSON-like dict as a Struct."""
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def enum_name(enum_type: Any, value: int, prefix: str) -> str:
    """The short name of an enum value: DISTRIBUTION_STATE_FAILED -> FAILED."""
    return str(enum_type.Name(value)).removeprefix(prefix)


def enum_value(enum_type: Any, name: str | None, prefix: str) -> Any:
    """The enum number of a short name (None or empty: 0)."""
    return enum_type.Value(prefix + name) if name else 0


# --- channels -----------------------------------------------------------------------------


def channel_config(message: pb.Channel) -> dict[str, Any]:
    """The stored JSON of a channel's configuration (proto field names, defaults omitted)."""
    return {
        "filters": json_format.MessageToDict(message.filters, preserving_proto_field_name=True),
        "preferences": json_format.MessageToDict(
            message.preferences, preserving_proto_field_name=True
        ),
        "schedule": json_format.MessageToDict(message.schedule, preserving_proto_field_name=True),
        "transformations": [
            json_format.MessageToDict(t, preserving_proto_field_name=True)
            for t in message.transformations
        ],
        "retry_policy": json_format.MessageToDict(
            message.retry_policy, preserving_proto_field_name=True
        ),
        "missed_slot_policy": json_format.MessageToDict(
            message.missed_slot_policy, preserving_proto_field_name=True
        ),
    }


def channel_to_proto(row: models.Channel, now: datetime | None = None) -> pb.Channel:
    """A stored channel as the API's Channel, with its availability as of `now`."""
    message = pb.Channel()
    # The configuration part, parsed from JSON once per version (json_format is ~100x slower
    # than merging the bytes it produced, and ListChannels converts a page of channels).
    message.MergeFromString(_CONFIG_MESSAGES.get(row))
    message.id = row.id
    message.display_name = row.display_name
    message.platform = row.platform
    message.timezone = row.timezone
    message.active = row.active
    message.available = row.available
    message.unavailable_reason = row.unavailable_reason
    _set_ts(message, "unavailable_until", row.unavailable_until)
    _set_ts(message, "create_time", row.create_time)
    _set_ts(message, "update_time", row.update_time)
    message.quota_pool_ids.extend(row.quota_pool_ids)
    if not row.available and available_now(row, now or utcnow()):
        message.available = True
        message.ClearField("unavailable_until")
        message.unavailable_reason = ""
    return message


def _config_message(config: Mapping[str, Any]) -> bytes:
    """The serialized Channel holding only the configuration fields of stored `config`."""
    message = pb.Channel()
    json_format.ParseDict(config.get("filters", {}), message.filters)
    json_format.ParseDict(config.get("preferences", {}), message.preferences)
    json_format.ParseDict(config.get("schedule", {}), message.schedule)
    message.transformations.extend(transformations_to_proto(config.get("transformations", [])))
    json_format.ParseDict(config.get("retry_policy", {}), message.retry_policy)
    json_format.ParseDict(config.get("missed_slot_policy", {}), message.missed_slot_policy)
    return message.SerializeToString()


#: The configuration part of each channel message, by version.
_CONFIG_MESSAGES = VersionedCache(_config_message)


def transformations_to_proto(values: list[dict[str, Any]]) -> list[pb.Transformation]:
    """Stored transformations (the API's JSON) as messages."""
    return [json_format.ParseDict(t, pb.Transformation()) for t in values]


# --- videos -------------------------------------------------------------------------------


def quota_pool_to_proto(row: models.QuotaPool) -> pb.QuotaPool:
    """A stored quota pool as the API's QuotaPool."""
    message = pb.QuotaPool(
        id=row.id,
        display_name=row.display_name,
        limit=row.limit,
        window=enum_value(pb.QuotaWindow, row.window, "QUOTA_WINDOW_"),
        timezone=row.timezone,
    )
    _set_ts(message, "create_time", row.create_time)
    _set_ts(message, "update_time", row.update_time)
    _set_ts(message, "exhausted_until", row.exhausted_until)
    return message


def video_to_proto(row: models.Video) -> pb.Video:
    """A stored video as the API's Video."""
    message = pb.Video(
        id=row.id,
        source_url=row.source_url,
        title=row.title,
        duration_seconds=row.duration_seconds,
        width=row.width,
        height=row.height,
        views=row.views,
        tags=row.tags,
        watermarked=row.watermarked,
        language=row.language,
        state=enum_value(pb.VideoState, row.state, "VIDEO_STATE_"),
    )
    _set_ts(message, "available_from", row.available_from)
    _set_ts(message, "expires_at", row.expires_at)
    _set_ts(message, "create_time", row.create_time)
    _set_ts(message, "update_time", row.update_time)
    return message


# --- distributions, decisions, runs ---------------------------------------------------------


def distribution_to_proto(row: models.Distribution) -> pb.Distribution:
    """A stored distribution as the API's Distribution."""
    message = pb.Distribution(
        id=row.id,
        video_id=row.video_id,
        channel_id=row.channel_id,
        method=enum_value(pb.DistributionMethod, row.method, "DISTRIBUTION_METHOD_"),
        state=enum_value(pb.DistributionState, row.state, "DISTRIBUTION_STATE_"),
        score=row.score,
        reason=row.reason,
        details=to_struct(row.details or {}),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        last_error=row.last_error,
        unconfirmed=row.unconfirmed,
        external_id=row.external_id,
        external_url=row.external_url,
        run_id=row.run_id or "",
        actor=row.actor,
        duplicate_override=row.duplicate_override,
        # 1.0 stays unset (0), as WeeklySlot.weight says it: unweighted answers do not change.
        slot_weight=row.slot_weight if row.slot_weight not in (None, 1.0) else 0.0,
    )
    message.transformations.extend(transformations_to_proto(row.transformations or []))
    _set_ts(message, "scheduled_at", row.scheduled_at)
    _set_ts(message, "next_attempt_at", row.next_attempt_at)
    _set_ts(message, "create_time", row.create_time)
    _set_ts(message, "update_time", row.update_time)
    return message


def decision_to_proto(row: models.Decision) -> pb.Decision:
    """A stored decision as the API's Decision."""
    message = pb.Decision(
        id=str(row.id),
        video_id=row.video_id or "",
        channel_id=row.channel_id or "",
        distribution_id=row.distribution_id or "",
        kind=enum_value(pb.DecisionKind, row.kind, "DECISION_KIND_"),
        method=enum_value(pb.DistributionMethod, row.method, "DISTRIBUTION_METHOD_"),
        reason=row.reason,
        details=to_struct(row.details or {}),
        actor=row.actor,
        run_id=row.run_id or "",
    )
    _set_ts(message, "time", row.time)
    return message


def run_to_proto(row: models.Run) -> svc.Run:
    """A stored AutoDistribute run as the API's Run."""
    message = svc.Run(
        run_id=row.id,
        mode=enum_value(svc.AutoDistributeMode, row.mode, "AUTO_DISTRIBUTE_MODE_"),
        solver_status=enum_value(svc.SolverStatus, row.solver_status, "SOLVER_STATUS_"),
        objective=row.objective,
        best_bound=row.best_bound,
        gap=row.gap,
        candidate_count=row.candidate_count,
        slot_count=row.slot_count,
        video_count=row.video_count,
        channel_count=row.channel_count,
        assignment_count=row.assignment_count,
        skipped_count=row.skipped_count,
        wall_seconds=row.wall_seconds,
        actor=row.actor,
    )
    json_format.ParseDict(row.parameters or {}, message.parameters)
    _set_ts(message, "create_time", row.create_time)
    state = proposal_store.state_of(row, utcnow())
    message.state = enum_value(svc.RunState, state.value, "RUN_STATE_")
    message.change_count = row.change_count
    if row.expire_time is not None:
        _set_ts(message, "expire_time", row.expire_time)
    return message


def change_to_proto(change: Change) -> svc.PlanChange:
    """A plan change as the API's PlanChange."""
    message = svc.PlanChange(
        kind=enum_value(svc.PlanChangeKind, change.kind, "PLAN_CHANGE_KIND_"),
        distribution_id=change.distribution_id,
        video_id=change.video_id,
        channel_id=change.channel_id,
        reason=change.reason,
        score=change.score,
    )
    if change.from_time is not None:
        _set_ts(message, "from_time", change.from_time)
    if change.to_time is not None:
        _set_ts(message, "to_time", change.to_time)
    return message
