"""Loading the rows a command names, or NotFound naming the request field that named them."""

from __future__ import annotations

from collections.abc import Sequence

from persistence import models
from persistence.repositories import Repositories
from server.usecases.errors import NotFound


def channel(repos: Repositories, channel_id: str, field: str = "id") -> models.Channel:
    """The channel, or NotFound naming `field`."""
    row = repos.channels.get(channel_id)
    if row is None:
        raise NotFound("channel", channel_id, field=field)
    return row


def video(repos: Repositories, video_id: str, field: str = "id") -> models.Video:
    """The video, or NotFound naming `field`."""
    row = repos.videos.get(video_id)
    if row is None:
        raise NotFound("video", video_id, field=field)
    return row


def distribution(
    repos: Repositories, distribution_id: str, field: str = "id", *, lock: bool = False
) -> models.Distribution:
    """The distribution (row-locked on PostgreSQL when `lock`), or NotFound naming `field`."""
    row = repos.distributions.get(distribution_id, lock=lock)
    if row is None:
        raise NotFound("distribution", distribution_id, field=field)
    return row


def locked_channels(
    repos: Repositories, channel_ids: Sequence[str], field: str = "channel_ids"
) -> list[models.Channel]:
    """The channels in request order, row-locked; NotFound names the first missing one."""
    found = repos.channels.lock(channel_ids)
    for i, channel_id in enumerate(channel_ids):
        if channel_id not in found:
            raise NotFound("channel", channel_id, field=f"{field}[{i}]")
    return [found[channel_id] for channel_id in channel_ids]


def videos(
    repos: Repositories, video_ids: Sequence[str], field: str = "video_ids"
) -> list[models.Video]:
    """The videos in request order; NotFound names the first missing one."""
    found = repos.videos.by_ids(video_ids)
    for i, video_id in enumerate(video_ids):
        if video_id not in found:
            raise NotFound("video", video_id, field=f"{field}[{i}]")
    return [found[video_id] for video_id in video_ids]
