"""Builders of API messages with sensible defaults, for tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def channel(
    channel_id: str, *, times: tuple[str, ...] = ("09:00", "18:00"), **fields: Any
) -> pb.Channel:
    """A channel posting every day at `times` in Europe/Berlin, accepting anything by default."""
    message = pb.Channel(
        id=channel_id,
        display_name=f"Channel {channel_id}",
        platform="youtube",
        timezone=fields.pop("timezone", "Europe/Berlin"),
        schedule=pb.PostingSchedule(
            slots=[pb.WeeklySlot(days=EVERY_DAY, local_time=t) for t in times]
        ),
    )
    for key, value in fields.items():
        if isinstance(
            value, pb.ContentFilters | pb.Preferences | pb.PostingSchedule | pb.RetryPolicy
        ):
            getattr(message, key).CopyFrom(value)
        elif key == "transformations":
            message.transformations.extend(value)
        else:
            setattr(message, key, value)
    return message


def video(video_id: str, **fields: Any) -> pb.Video:
    """A READY 30-second vertical 1080x1920 English video with a unique source URL."""
    values: dict[str, Any] = {
        "id": video_id,
        "source_url": f"https://cdn.example.com/videos/{video_id}.mp4",
        "title": f"Video {video_id}",
        "duration_seconds": 30.0,
        "width": 1080,
        "height": 1920,
        "views": 1000,
        "tags": ["cooking"],
        "language": "en",
        "state": pb.VIDEO_STATE_READY,
    }
    values.update(fields)
    return pb.Video(**values)


def at(*args: int) -> Any:
    """A Timestamp for datetime(*args) in UTC."""
    return dt_to_ts(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


def setup(stub: Any, channels: list[pb.Channel], videos: list[pb.Video]) -> None:
    """Registers channels and videos through the API."""
    for c in channels:
        stub.UpsertChannel(svc.UpsertChannelRequest(channel=c))
    if videos:
        stub.UpsertVideos(svc.UpsertVideosRequest(videos=videos))
