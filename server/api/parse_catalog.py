"""Catalog requests parsed into commands: channels, availability and videos.

Every field is checked before anything is read or written; one INVALID_ARGUMENT names every
bad field of the request.
"""

from __future__ import annotations

import math

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence.base import utcnow
from persistence.enums import VideoState
from server.api import converters
from server.api.paging import Listing, PageQuery, PageTokens, page_query
from server.api.validation import CHANNEL_ID, HHMM, LANGUAGE, VIDEO_ID, Violations, only_id
from server.usecases.catalog import ChannelSpec, SetAvailability, VideoSpec
from server.usecases.sources import InvalidSourceUrl, normalize_source_url

#: Largest UpsertVideos batch; larger batches are refused whole (INVALID_ARGUMENT on videos).
MAX_VIDEO_BATCH = 1000
CHANNELS = Listing("channels")
VIDEOS = Listing("videos")


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
    )


def channel_id(request: svc.GetChannelRequest) -> str:
    """The id of GetChannel."""
    return only_id(request.id, "id", CHANNEL_ID, "channel")


def video_id(request: svc.GetVideoRequest) -> str:
    """The id of GetVideo."""
    return only_id(request.id, "id", VIDEO_ID, "video")


def id_page(
    tokens: PageTokens, listing: Listing, request: svc.ListChannelsRequest | svc.ListVideosRequest
) -> PageQuery:
    """The page of ListChannels or ListVideos (by id)."""
    v = Violations()
    size = v.page_size(request.page_size)
    v.raise_if_any()
    return page_query(tokens, listing, {}, size, request.page_token)


def set_availability(request: svc.SetChannelAvailabilityRequest, actor: str) -> SetAvailability:
    """Available, or unavailable (with a reason) until a future time or further notice."""
    v = Violations()
    v.identifier(request.channel_id, "channel_id", CHANNEL_ID, "channel")
    v.timestamp(request, "until", "until")
    v.text(request.reason, "reason")
    if request.available:
        v.check(not request.HasField("until"), "until", "only for available=false")
    else:
        v.check(bool(request.reason.strip()), "reason", "required when available is false")
        until = converters.opt_ts(request, "until")
        v.check(until is None or until > utcnow(), "until", "must be in the future")
    v.raise_if_any()
    return SetAvailability(
        channel_id=request.channel_id,
        available=request.available,
        until=None if request.available else converters.opt_ts(request, "until"),
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
        except InvalidSourceUrl:
            v.add(f"videos[{i}].source_url", f"{video.source_url!r} is not an http(s) URL")
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
        expires_at=converters.opt_ts(message, "expires_at"),
    )


def validate_channel(channel: pb.Channel, v: Violations, path: str = "channel") -> None:
    """Every field of a Channel an operator writes."""
    v.identifier(channel.id, f"{path}.id", CHANNEL_ID, "channel")
    v.text(channel.display_name, f"{path}.display_name", max_length=200)
    v.text(channel.platform, f"{path}.platform", max_length=64)
    v.timezone(channel.timezone, f"{path}.timezone")
    _validate_filters(channel.filters, v, f"{path}.filters")
    _validate_preferences(channel.preferences, v, f"{path}.preferences")
    _validate_schedule(channel.schedule, v, f"{path}.schedule")
    for i, t in enumerate(channel.transformations):
        _validate_transformation(t, v, f"{path}.transformations[{i}]")
    _validate_retry_policy(channel.retry_policy, v, f"{path}.retry_policy")


def _validate_filters(f: pb.ContentFilters, v: Violations, path: str) -> None:
    for name in ("min_duration_seconds", "max_duration_seconds", "min_height", "min_width"):
        v.non_negative(getattr(f, name), f"{path}.{name}")
    v.non_negative(f.min_views, f"{path}.min_views")
    if f.max_duration_seconds and f.min_duration_seconds > f.max_duration_seconds:
        v.add(f"{path}.max_duration_seconds", "must be >= min_duration_seconds")
    v.check(f.orientation in pb.Orientation.values(), f"{path}.orientation", "unknown value")
    for name in ("required_tags", "any_tags", "exclude_tags"):
        for i, tag in enumerate(getattr(f, name)):
            v.check(bool(tag.strip()), f"{path}.{name}[{i}]", "empty tag")
    v.languages(f.languages, f"{path}.languages")


def _validate_preferences(p: pb.Preferences, v: Violations, path: str) -> None:
    for tag, weight in p.tag_weights.items():
        v.check(bool(tag.strip()), f"{path}.tag_weights", "empty tag")
        v.check(
            math.isfinite(weight) and abs(weight) <= 1000,
            f"{path}.tag_weights[{tag}]",
            "weight must be finite, between -1000 and 1000",
        )
    v.check(0 <= p.priority <= 100, f"{path}.priority", "must be between 0 and 100")


def _validate_schedule(s: pb.PostingSchedule, v: Violations, path: str) -> None:
    for i, slot in enumerate(s.slots):
        slot_path = f"{path}.slots[{i}]"
        v.check(bool(slot.days), f"{slot_path}.days", "at least one day is required")
        for j, day in enumerate(slot.days):
            v.check(
                day in range(1, 8), f"{slot_path}.days[{j}]", "must be DAY_OF_WEEK_MONDAY..SUNDAY"
            )
        v.check(
            bool(HHMM.match(slot.local_time)),
            f"{slot_path}.local_time",
            f"{slot.local_time!r} is not a local time HH:MM between 00:00 and 23:59",
        )
    v.check(0 <= s.max_posts_per_day <= 1440, f"{path}.max_posts_per_day", "must be 0..1440")
    for i, window in enumerate(s.blackouts):
        w_path = f"{path}.blackouts[{i}]"
        if v.check(window.HasField("start_time"), f"{w_path}.start_time", "required") and v.check(
            window.HasField("end_time"), f"{w_path}.end_time", "required"
        ):
            v.timestamp(window, "start_time", f"{w_path}.start_time")
            v.timestamp(window, "end_time", f"{w_path}.end_time")
            v.check(
                window.start_time.ToNanoseconds() < window.end_time.ToNanoseconds(),
                f"{w_path}.end_time",
                "must be after start_time",
            )


def _validate_transformation(t: pb.Transformation, v: Violations, path: str) -> None:
    if not v.check(
        t.kind
        in (
            pb.TRANSFORMATION_KIND_TRIM,
            pb.TRANSFORMATION_KIND_CROP,
            pb.TRANSFORMATION_KIND_BURN_CAPTIONS,
        ),
        f"{path}.kind",
        "must be TRANSFORMATION_KIND_TRIM, _CROP or _BURN_CAPTIONS",
    ):
        return
    v.non_negative(t.trim_seconds, f"{path}.trim_seconds")
    if t.kind == pb.TRANSFORMATION_KIND_BURN_CAPTIONS:
        v.check(
            bool(LANGUAGE.match(t.language)), f"{path}.language", "a caption language is required"
        )


def _validate_retry_policy(r: pb.RetryPolicy, v: Violations, path: str) -> None:
    v.check(0 <= r.max_attempts <= 100, f"{path}.max_attempts", "must be 0..100 (0: default)")
    for name in ("initial_backoff", "max_backoff"):
        d = getattr(r, name)
        v.check(d.seconds >= 0 and d.nanos >= 0, f"{path}.{name}", "must not be negative")
    v.check(
        r.backoff_multiplier == 0 or 1.0 <= r.backoff_multiplier <= 10.0,
        f"{path}.backoff_multiplier",
        "must be 1..10 (0: default)",
    )
    if r.HasField("initial_backoff") and r.HasField("max_backoff"):
        v.check(
            r.initial_backoff.ToNanoseconds() <= r.max_backoff.ToNanoseconds(),
            f"{path}.max_backoff",
            "must be >= initial_backoff",
        )


def validate_video(video: pb.Video, v: Violations, path: str) -> None:
    """Every field of a Video an upstream pipeline writes (the URL is checked by the caller)."""
    v.identifier(video.id, f"{path}.id", VIDEO_ID, "video")
    v.text(video.title, f"{path}.title")
    v.check(
        math.isfinite(video.duration_seconds) and 0 <= video.duration_seconds <= 86400 * 7,
        f"{path}.duration_seconds",
        "must be between 0 and 604800",
    )
    v.non_negative(video.width, f"{path}.width")
    v.non_negative(video.height, f"{path}.height")
    v.non_negative(video.views, f"{path}.views")
    for i, tag in enumerate(video.tags):
        v.check(bool(tag.strip()) and len(tag) <= 100, f"{path}.tags[{i}]", "empty or long tag")
    if video.language:
        v.check(bool(LANGUAGE.match(video.language)), f"{path}.language", "not a language tag")
    v.check(video.state in pb.VideoState.values(), f"{path}.state", "unknown value")
    v.timestamp(video, "available_from", f"{path}.available_from")
    v.timestamp(video, "expires_at", f"{path}.expires_at")
    if video.HasField("available_from") and video.HasField("expires_at"):
        v.check(
            video.available_from.ToNanoseconds() < video.expires_at.ToNanoseconds(),
            f"{path}.expires_at",
            "must be after available_from",
        )
