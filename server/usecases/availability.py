"""Whether a channel takes work and a video may be distributed, and why not."""

from __future__ import annotations

from datetime import datetime

from persistence import models
from persistence.enums import VideoState


def available_now(channel: models.Channel, now: datetime) -> bool:
    """Whether `channel` takes work at `now`: availability returns by itself when `until` passes."""
    if channel.available:
        return True
    return channel.unavailable_until is not None and channel.unavailable_until <= now


def video_blockers(video: models.Video, now: datetime) -> list[str]:
    """Why the video may not be distributed now (not READY, before available_from, expired)."""
    blockers = []
    if video.state != VideoState.READY:
        blockers.append(f"video is {video.state}, not READY")
    if video.available_from is not None and video.available_from > now:
        blockers.append(f"video not available before {video.available_from.isoformat()}")
    if video.expires_at is not None and video.expires_at <= now:
        blockers.append(f"video expired at {video.expires_at.isoformat()}")
    return blockers


def channel_blockers(channel: models.Channel, now: datetime) -> list[str]:
    """Why the channel takes no work now (inactive, unavailable)."""
    blockers = []
    if not channel.active:
        blockers.append("channel is inactive")
    if not available_now(channel, now):
        until = channel.unavailable_until
        blockers.append(
            f"channel unavailable until {until.isoformat() if until else 'further notice'}"
            + (f": {channel.unavailable_reason}" if channel.unavailable_reason else "")
        )
    return blockers
