"""Catalog: channels, videos and quota pools (create or replace, read, list) and channel
availability."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from persistence import models
from persistence.base import utcnow
from persistence.enums import DecisionKind, QuotaWindow, VideoState
from persistence.repositories import Page, Repositories
from server.usecases import lookups
from server.usecases.availability import available_now
from server.usecases.errors import FieldViolation, InvalidArgument, NotFound


@dataclass(frozen=True)
class ChannelSpec:
    """A channel as an operator writes it; `config` is its stored configuration JSON."""

    id: str
    display_name: str
    platform: str
    timezone: str
    active: bool | None  # None keeps the stored value
    config: dict[str, Any]
    quota_pool_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuotaPoolSpec:
    """A quota pool as an operator writes it."""

    id: str
    display_name: str
    limit: int
    window: QuotaWindow
    timezone: str


@dataclass(frozen=True)
class SetAvailability:
    """Marks a channel available, or unavailable until a time (None: until further notice)."""

    channel_id: str
    available: bool
    until: datetime | None
    reason: str
    actor: str


@dataclass(frozen=True)
class VideoSpec:
    """A video as an upstream pipeline registers it; `source_url` is already normalised."""

    id: str
    source_url: str
    title: str
    duration_seconds: float
    width: int
    height: int
    views: int
    tags: tuple[str, ...]
    watermarked: bool
    language: str
    state: VideoState
    available_from: datetime | None
    expires_at: datetime | None


def upsert_channel(repos: Repositories, spec: ChannelSpec) -> models.Channel:
    """Creates or replaces a channel; availability and (when unset) `active` are kept.

    Every quota pool it names must exist (INVALID_ARGUMENT on channel.quota_pool_ids[i]).
    """
    known = repos.quotas.existing_ids(spec.quota_pool_ids) if spec.quota_pool_ids else set()
    missing = [
        FieldViolation(f"channel.quota_pool_ids[{i}]", f"quota pool {pool_id!r} does not exist")
        for i, pool_id in enumerate(spec.quota_pool_ids)
        if pool_id not in known
    ]
    if missing:
        raise InvalidArgument(missing)
    row = repos.channels.get(spec.id)
    if row is None:
        row = repos.channels.add(models.Channel(id=spec.id, available=True, active=True))
    row.display_name = spec.display_name
    row.platform = spec.platform
    row.timezone = spec.timezone
    if spec.active is not None:
        row.active = spec.active
    row.config = spec.config
    repos.quotas.set_channel_pools(row, spec.quota_pool_ids)
    repos.flush()
    return _with_pools(row)


def upsert_quota_pool(repos: Repositories, spec: QuotaPoolSpec) -> models.QuotaPool:
    """Creates or replaces a quota pool; its exhausted-until (a platform report) is kept.
    A lower limit applies to new placements: live distributions are never moved by it."""
    row = repos.quotas.get(spec.id)
    if row is None:
        row = repos.quotas.add(models.QuotaPool(id=spec.id))
    row.display_name = spec.display_name
    row.limit = spec.limit
    row.window = spec.window
    row.timezone = spec.timezone
    repos.flush()
    return row


def get_quota_pool(repos: Repositories, pool_id: str) -> models.QuotaPool:
    """One quota pool."""
    row = repos.quotas.get(pool_id)
    if row is None:
        raise NotFound("quota pool", pool_id, field="id")
    return row


def list_quota_pools(repos: Repositories, after: Sequence[Any] | None, size: int) -> Page[Any]:
    """Quota pools by id, one page."""
    return repos.quotas.page(after, size)


def set_availability(repos: Repositories, command: SetAvailability) -> models.Channel:
    """Changes a channel's availability, with its decision."""
    now = utcnow()
    row = lookups.channel(repos, command.channel_id, "channel_id")
    was = available_now(row, now)
    row.available = command.available
    row.unavailable_until = None if command.available else command.until
    row.unavailable_reason = "" if command.available else command.reason
    if command.available:
        row.outage_count = 0
    repos.decisions.record(
        DecisionKind.AVAILABILITY_CHANGED,
        reason=_availability_reason(command),
        actor=command.actor,
        channel_id=row.id,
        details={
            "available": command.available,
            "was_available": was,
            "until": row.unavailable_until.isoformat() if row.unavailable_until else None,
        },
    )
    repos.flush()
    return _with_pools(row)


def upsert_videos(repos: Repositories, specs: Sequence[VideoSpec]) -> int:
    """Creates or replaces every video of the batch; returns how many."""
    repos.videos.upsert([_video_values(spec) for spec in specs])
    return len(specs)


def get_channel(repos: Repositories, channel_id: str) -> models.Channel:
    """One channel."""
    return _with_pools(lookups.channel(repos, channel_id))


def list_channels(repos: Repositories, after: Sequence[Any] | None, size: int) -> Page[Any]:
    """Channels by id, one page."""
    return repos.channels.page(after, size)


def get_video(repos: Repositories, video_id: str) -> models.Video:
    """One video."""
    return lookups.video(repos, video_id)


def list_videos(repos: Repositories, after: Sequence[Any] | None, size: int) -> Page[Any]:
    """Videos by id, one page."""
    return repos.videos.page(after, size)


def _with_pools(row: models.Channel) -> models.Channel:
    """`row` with its quota pool links loaded: its response is built after the transaction."""
    row.quota_links  # noqa: B018 (the load is the point)
    return row


def _video_values(spec: VideoSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "source_url": spec.source_url,
        "title": spec.title,
        "duration_seconds": spec.duration_seconds,
        "width": spec.width,
        "height": spec.height,
        "views": spec.views,
        # Tags compare case-blind everywhere, so they are stored folded.
        "tags": [t.strip().lower() for t in spec.tags],
        "watermarked": spec.watermarked,
        "language": spec.language,
        "state": spec.state,
        "available_from": spec.available_from,
        "expires_at": spec.expires_at,
    }


def _availability_reason(command: SetAvailability) -> str:
    if command.available:
        return "channel marked available"
    until = command.until
    return f"channel unavailable until {until.isoformat() if until else 'further notice'}: " + (
        command.reason
    )
