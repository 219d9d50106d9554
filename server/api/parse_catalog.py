"""Catalog requests parsed into commands: channels, availability and videos.

Every field is checked before anything is read or written; one INVALID_ARGUMENT names every
bad field of the request.
"""

from __future__ import annotations

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence.base import utcnow
from persistence.enums import QuotaWindow, VideoState
from server.api import converters
from server.api.catalog_fields import validate_channel, validate_quota_pool, validate_video
from server.api.paging import Listing, PageQuery, PageTokens, page_query
from server.api.validation import CHANNEL_ID, POOL_ID, VIDEO_ID, Violations, only_id, quote
from server.usecases.catalog import ChannelSpec, QuotaPoolSpec, SetAvailability, VideoSpec
from server.usecases.sources import InvalidSourceUrl, normalize_source_url

#: Largest UpsertVideos batch; larger batches are refused whole (INVALID_ARGUMENT on videos).
MAX_VIDEO_BATCH = 1000
CHANNELS = Listing("channels")
VIDEOS = Listing("videos")
QUOTA_POOLS = Listing("quota_pools")


def upsert_channel(request: svc.UpsertChannelRequest) -> ChannelSpec:
    """The channel to create or replace."""
    v = Violations()
    if not request.HasField("channel"):
        v.add("channel", "required")
    validate_channel(request.channel, v)
    v.raise_if_any()
    c = request.channel
    return ChannelSpec(
        id=c.id,
        display_name=c.display_name,
        platform=c.platform,
        timezone=c.timezone,
        active=c.active if c.HasField("active") else None,
        config=converters.channel_config(c),
        quota_pool_ids=tuple(c.quota_pool_ids),
    )


def upsert_quota_pool(request: svc.UpsertQuotaPoolRequest) -> QuotaPoolSpec:
    """The quota pool to create or replace."""
    v = Violations()
    if not request.HasField("pool"):
        v.add("pool", "required")
    validate_quota_pool(request.pool, v)
    v.raise_if_any()
    p = request.pool
    return QuotaPoolSpec(
        id=p.id,
        display_name=p.display_name,
        limit=p.limit,
        window=QuotaWindow(converters.enum_name(pb.QuotaWindow, p.window, "QUOTA_WINDOW_")),
        timezone=p.timezone,
    )


def quota_pool_id(request: svc.GetQuotaPoolRequest) -> str:
    """The id of GetQuotaPool."""
    return only_id(request.id, "id", POOL_ID, "quota pool")


def channel_id(request: svc.GetChannelRequest) -> str:
    """The id of GetChannel."""
    return only_id(request.id, "id", CHANNEL_ID, "channel")


def video_id(request: svc.GetVideoRequest) -> str:
    """The id of GetVideo."""
    return only_id(request.id, "id", VIDEO_ID, "video")


def id_page(
    tokens: PageTokens,
    listing: Listing,
    request: svc.ListChannelsRequest | svc.ListVideosRequest | svc.ListQuotaPoolsRequest,
) -> PageQuery:
    """The page of ListChannels, ListVideos or ListQuotaPools (by id)."""
    v = Violations()
    size = v.page_size(request.page_size)
    v.raise_if_any()
    return page_query(tokens, listing, {}, size, request.page_token)


def set_availability(request: svc.SetChannelAvailabilityRequest, actor: str) -> SetAvailability:
    """Available, or unavailable (with a reason) until a future time or further notice."""
    v = Violations()
    v.identifier(request.channel_id, "channel_id", CHANNEL_ID, "channel")
    until = v.time(request, "until", "until")
    v.text(request.reason, "reason")
    if request.available:
        v.check(not request.HasField("until"), "until", "only for available=false")
    else:
        v.check(bool(request.reason.strip()), "reason", "required when available is false")
        v.check(until is None or until > utcnow(), "until", "must be in the future")
    v.raise_if_any()
    return SetAvailability(
        channel_id=request.channel_id,
        available=request.available,
        until=None if request.available else until,
        reason=request.reason,
        actor=actor,
    )


def upsert_videos(request: svc.UpsertVideosRequest) -> list[VideoSpec]:
    """Up to MAX_VIDEO_BATCH videos with unique ids, source URLs normalised."""
    v = Violations()
    if not request.videos:
        v.add("videos", "at least one video is required")
    if len(request.videos) > MAX_VIDEO_BATCH:
        v.add("videos", f"at most {MAX_VIDEO_BATCH} videos per call, got {len(request.videos)}")
        v.raise_if_any()
    urls: list[str] = []
    for i, video in enumerate(request.videos):
        validate_video(video, v, f"videos[{i}]")
        try:
            urls.append(normalize_source_url(video.source_url))
        except InvalidSourceUrl as exc:
            v.add(f"videos[{i}].source_url", f"{quote(video.source_url)} is not usable: {exc}")
    ids = [video.id for video in request.videos]
    if len(set(ids)) != len(ids):
        v.add("videos", "video ids must be unique within a batch")
    v.raise_if_any()
    return [_video_spec(video, url) for video, url in zip(request.videos, urls, strict=True)]


def _video_spec(message: pb.Video, normalized_url: str) -> VideoSpec:
    state = message.state or pb.VIDEO_STATE_READY
    return VideoSpec(
        id=message.id,
        source_url=normalized_url,
        title=message.title,
        duration_seconds=message.duration_seconds,
        width=message.width,
        height=message.height,
        views=message.views,
        tags=tuple(message.tags),
        watermarked=message.watermarked,
        language=message.language,
        state=VideoState(converters.enum_name(pb.VideoState, state, "VIDEO_STATE_")),
        available_from=converters.opt_ts(message, "available_from"),
        expires_at=converters.opt_ts(message, "expires_at"),  # both range-checked already
    )
