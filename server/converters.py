"""Conversions between API messages, stored rows and the allocator's domain values.

Channel configuration (filters, preferences, schedule, transformations, retry policy) is stored
as the API's own JSON, so one pair of functions serves the API and storage, and one function
turns it into the allocator's frozen dataclasses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from allocator import calendar, domain
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models

CONFIG_FIELDS = ("filters", "preferences", "schedule", "transformations", "retry_policy")


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
    }


def channel_to_proto(row: models.Channel) -> pb.Channel:
    """A stored channel as the API's Channel."""
    message = pb.Channel(
        id=row.id,
        display_name=row.display_name,
        platform=row.platform,
        timezone=row.timezone,
        active=row.active,
        available=row.available,
        unavailable_reason=row.unavailable_reason,
    )
    config = row.config
    json_format.ParseDict(config.get("filters", {}), message.filters)
    json_format.ParseDict(config.get("preferences", {}), message.preferences)
    json_format.ParseDict(config.get("schedule", {}), message.schedule)
    for t in config.get("transformations", []):
        json_format.ParseDict(t, message.transformations.add())
    json_format.ParseDict(config.get("retry_policy", {}), message.retry_policy)
    _set_ts(message, "unavailable_until", row.unavailable_until)
    _set_ts(message, "create_time", row.create_time)
    _set_ts(message, "update_time", row.update_time)
    return message


def transformation_to_domain(message: pb.Transformation) -> domain.Transformation:
    """An API Transformation as the allocator's value."""
    return domain.Transformation(
        kind=domain.TransformationKind(
            enum_name(pb.TransformationKind, message.kind, "TRANSFORMATION_KIND_")
        ),
        trim_seconds=message.trim_seconds,
        orientation=domain.Orientation(
            enum_name(pb.Orientation, message.orientation, "ORIENTATION_")
        ),
        language=message.language,
    )


def transformation_to_proto(value: domain.Transformation) -> pb.Transformation:
    """An allocator Transformation as the API's message."""
    return pb.Transformation(
        kind=enum_value(pb.TransformationKind, value.kind.value, "TRANSFORMATION_KIND_"),
        trim_seconds=value.trim_seconds,
        orientation=enum_value(pb.Orientation, value.orientation.value, "ORIENTATION_"),
        language=value.language,
    )


def transformation_to_json(value: domain.Transformation) -> dict[str, Any]:
    """An allocator Transformation as the API's JSON (stored on a distribution)."""
    return json_format.MessageToDict(
        transformation_to_proto(value), preserving_proto_field_name=True
    )


def channel_to_domain(message: pb.Channel) -> domain.Channel:
    """An API Channel (already validated) as the allocator's Channel."""
    f = message.filters
    schedule = message.schedule
    return domain.Channel(
        id=message.id,
        timezone=message.timezone,
        active=message.active,
        available=message.available,
        filters=domain.ContentFilters(
            min_duration_seconds=f.min_duration_seconds,
            max_duration_seconds=f.max_duration_seconds,
            min_height=f.min_height,
            min_width=f.min_width,
            orientation=domain.Orientation(
                enum_name(pb.Orientation, f.orientation, "ORIENTATION_")
            ),
            min_views=f.min_views,
            required_tags=tuple(f.required_tags),
            any_tags=tuple(f.any_tags),
            exclude_tags=tuple(f.exclude_tags),
            exclude_watermarked=f.exclude_watermarked,
            languages=tuple(f.languages),
        ),
        preferences=domain.Preferences(
            tag_weights=tuple(sorted(message.preferences.tag_weights.items())),
            priority=message.preferences.priority,
        ),
        schedule=domain.PostingSchedule(
            slots=tuple(
                domain.WeeklySlot(
                    days=tuple(slot.days), local_time=calendar.parse_local_time(slot.local_time)
                )
                for slot in schedule.slots
            ),
            max_posts_per_day=schedule.max_posts_per_day,
            blackouts=tuple(
                domain.TimeWindow(ts_to_dt(w.start_time), ts_to_dt(w.end_time))
                for w in schedule.blackouts
            ),
        ),
        transformations=tuple(transformation_to_domain(t) for t in message.transformations),
    )


def channel_row_to_domain(row: models.Channel) -> domain.Channel:
    """A stored channel as the allocator's Channel."""
    return channel_to_domain(channel_to_proto(row))


# --- videos -------------------------------------------------------------------------------


def video_row_values(message: pb.Video, normalized_url: str) -> dict[str, Any]:
    """The stored columns of an API Video (validated, source URL normalised)."""
    state = message.state or pb.VIDEO_STATE_READY
    return {
        "id": message.id,
        "source_url": normalized_url,
        "title": message.title,
        "duration_seconds": message.duration_seconds,
        "width": message.width,
        "height": message.height,
        "views": message.views,
        "tags": [t.strip().lower() for t in message.tags],
        "watermarked": message.watermarked,
        "language": message.language,
        "state": enum_name(pb.VideoState, state, "VIDEO_STATE_"),
        "available_from": opt_ts(message, "available_from"),
        "expires_at": opt_ts(message, "expires_at"),
    }


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


def video_row_to_domain(row: models.Video) -> domain.Video:
    """A stored video as the allocator's Video."""
    return domain.Video(
        id=row.id,
        source_url=row.source_url,
        duration_seconds=row.duration_seconds,
        width=row.width,
        height=row.height,
        views=row.views,
        tags=tuple(row.tags),
        watermarked=row.watermarked,
        language=row.language,
        state=domain.VideoState(row.state),
        available_from=row.available_from,
        expires_at=row.expires_at,
    )


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
    )
    for t in row.transformations or []:
        json_format.ParseDict(t, message.transformations.add())
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
    return message
