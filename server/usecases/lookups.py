"""Loading the rows a command names, or NotFound naming the request field that named them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from persistence import models
from persistence.repositories import Repositories
from server.usecases.errors import NotFound

R = TypeVar("R")


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
    return _in_order(repos.channels.lock(channel_ids), channel_ids, "channel", field)


def video_and_locked_channels(
    repos: Repositories,
    video_id: str,
    channel_ids: Sequence[str],
    video_field: str = "video_id",
    channels_field: str = "channel_ids",
) -> tuple[models.Video, list[models.Channel]]:
    """`video` and `locked_channels` in one round trip; NotFound names the video first."""
    found, row = repos.channels.lock_with_video(channel_ids, video_id)
    # None also when no channel exists: only then does the video need a look of its own.
    video_row = row if row is not None else video(repos, video_id, video_field)
    return video_row, _in_order(found, channel_ids, "channel", channels_field)


def channels(
    repos: Repositories, channel_ids: Sequence[str], field: str = "channel_ids"
) -> list[models.Channel]:
    """The channels in request order (not locked); NotFound names the first missing one."""
    return _in_order(repos.channels.by_ids(channel_ids), channel_ids, "channel", field)


def videos(
    repos: Repositories, video_ids: Sequence[str], field: str = "video_ids"
) -> list[models.Video]:
    """The videos in request order; NotFound names the first missing one."""
    return _in_order(repos.videos.by_ids(video_ids), video_ids, "video", field)


def _in_order(found: Mapping[str, R], ids: Sequence[str], kind: str, field: str) -> list[R]:
    for i, name in enumerate(ids):
        if name not in found:
            raise NotFound(kind, name, field=f"{field}[{i}]")
    return [found[name] for name in ids]
