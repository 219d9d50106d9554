"""Catalog use cases: channels and videos (create, replace, read, list, availability)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from persistence.base import utcnow
from persistence.database import Database
from server import converters
from server.audit import record
from server.errors import InvalidArgument, NotFound
from server.paging import PageTokens
from server.sources import InvalidSourceUrl, normalize_source_url
from server.validation import CHANNEL_ID, VIDEO_ID, Violations, validate_channel, validate_video

#: Largest UpsertVideos batch; larger batches are refused whole (INVALID_ARGUMENT on videos).
MAX_VIDEO_BATCH = 1000


def available_now(channel: models.Channel, now: datetime) -> bool:
    """Whether `channel` takes work at `now`: availability returns by itself when `until` passes."""
    if channel.available:
        return True
    return channel.unavailable_until is not None and channel.unavailable_until <= now


def channel_to_proto(row: models.Channel, now: datetime | None = None) -> pb.Channel:
    """A stored channel as the API's Channel, with its availability as of `now`."""
    message = converters.channel_to_proto(row)
    if not row.available and available_now(row, now or utcnow()):
        message.available = True
        message.ClearField("unavailable_until")
        message.unavailable_reason = ""
    return message


def get_channel_row(session: Session, channel_id: str, field: str = "id") -> models.Channel:
    """The channel, or NotFound naming `field`."""
    row = session.get(models.Channel, channel_id)
    if row is None:
        raise NotFound("channel", channel_id, field=field)
    return row


def get_video_row(session: Session, video_id: str, field: str = "id") -> models.Video:
    """The video, or NotFound naming `field`."""
    row = session.get(models.Video, video_id)
    if row is None:
        raise NotFound("video", video_id, field=field)
    return row


class Catalog:
    """Channels and videos."""

    def __init__(self, db: Database, tokens: PageTokens) -> None:
        self._db = db
        self._tokens = tokens

    # --- channels ---

    def upsert_channel(self, request: svc.UpsertChannelRequest) -> pb.Channel:
        """Creates or replaces a channel; availability and (when unset) `active` are kept."""
        v = Violations()
        if not request.HasField("channel"):
            v.add("channel", "required")
        validate_channel(request.channel, v)
        v.raise_if_any()
        message = request.channel

        def work(session: Session) -> pb.Channel:
            row = session.get(models.Channel, message.id)
            if row is None:
                row = models.Channel(id=message.id, available=True, active=True)
                session.add(row)
            row.display_name = message.display_name
            row.platform = message.platform
            row.timezone = message.timezone
            if message.HasField("active"):
                row.active = message.active
            row.config = converters.channel_config(message)
            session.flush()
            return channel_to_proto(row)

        return self._db.transaction(work)

    def get_channel(self, request: svc.GetChannelRequest) -> pb.Channel:
        """One channel."""
        v = Violations()
        v.identifier(request.id, "id", CHANNEL_ID, "channel")
        v.raise_if_any()
        return self._db.transaction(
            lambda s: channel_to_proto(get_channel_row(s, request.id)), readonly=True
        )

    def list_channels(self, request: svc.ListChannelsRequest) -> svc.ListChannelsResponse:
        """Channels by id, one page."""
        rows, token = self._page(models.Channel, "channels", request.page_size, request.page_token)
        now = utcnow()
        return svc.ListChannelsResponse(
            channels=[channel_to_proto(r, now) for r in rows], next_page_token=token
        )

    def set_channel_availability(
        self, request: svc.SetChannelAvailabilityRequest, actor: str
    ) -> pb.Channel:
        """Marks a channel available, or unavailable until a time; audited."""
        v = Violations()
        v.identifier(request.channel_id, "channel_id", CHANNEL_ID, "channel")
        v.timestamp(request, "until", "until")
        v.text(request.reason, "reason")
        now = utcnow()
        if request.available:
            v.check(not request.HasField("until"), "until", "only for available=false")
        else:
            v.check(bool(request.reason.strip()), "reason", "required when available is false")
            until = converters.opt_ts(request, "until")
            v.check(until is None or until > now, "until", "must be in the future")
        v.raise_if_any()

        def work(session: Session) -> pb.Channel:
            row = get_channel_row(session, request.channel_id, "channel_id")
            was = available_now(row, now)
            row.available = request.available
            row.unavailable_until = (
                None if request.available else converters.opt_ts(request, "until")
            )
            row.unavailable_reason = "" if request.available else request.reason
            if request.available:
                row.outage_count = 0
            record(
                session,
                "AVAILABILITY_CHANGED",
                reason=_availability_reason(request),
                actor=actor,
                channel_id=row.id,
                details={
                    "available": request.available,
                    "was_available": was,
                    "until": row.unavailable_until.isoformat() if row.unavailable_until else None,
                },
            )
            session.flush()
            return channel_to_proto(row, now)

        return self._db.transaction(work)

    # --- videos ---

    def upsert_videos(self, request: svc.UpsertVideosRequest) -> svc.UpsertVideosResponse:
        """Creates or replaces up to MAX_VIDEO_BATCH videos, all or nothing."""
        v = Violations()
        if not request.videos:
            v.add("videos", "at least one video is required")
        if len(request.videos) > MAX_VIDEO_BATCH:
            v.add("videos", f"at most {MAX_VIDEO_BATCH} videos per call, got {len(request.videos)}")
            v.raise_if_any()
        values: list[dict[str, Any]] = []
        for i, video in enumerate(request.videos):
            validate_video(video, v, f"videos[{i}]")
            try:
                url = normalize_source_url(video.source_url)
            except InvalidSourceUrl:
                v.add(f"videos[{i}].source_url", f"{video.source_url!r} is not an http(s) URL")
                continue
            values.append(converters.video_row_values(video, url))
        ids = [video.id for video in request.videos]
        if len(set(ids)) != len(ids):
            v.add("videos", "video ids must be unique within a batch")
        v.raise_if_any()

        def work(session: Session) -> svc.UpsertVideosResponse:
            existing = {
                row.id: row
                for row in session.scalars(select(models.Video).where(models.Video.id.in_(ids)))
            }
            for value in values:
                row = existing.get(value["id"])
                if row is None:
                    session.add(models.Video(**value))
                else:
                    for key, item in value.items():
                        setattr(row, key, item)
            return svc.UpsertVideosResponse(upserted_count=len(values))

        return self._db.transaction(work)

    def get_video(self, request: svc.GetVideoRequest) -> pb.Video:
        """One video."""
        v = Violations()
        v.identifier(request.id, "id", VIDEO_ID, "video")
        v.raise_if_any()
        return self._db.transaction(
            lambda s: converters.video_to_proto(get_video_row(s, request.id)), readonly=True
        )

    def list_videos(self, request: svc.ListVideosRequest) -> svc.ListVideosResponse:
        """Videos by id, one page."""
        rows, token = self._page(models.Video, "videos", request.page_size, request.page_token)
        return svc.ListVideosResponse(
            videos=[converters.video_to_proto(r) for r in rows], next_page_token=token
        )

    def _page(
        self, model: type[models.Channel] | type[models.Video], listing: str, size: int, token: str
    ) -> tuple[list[Any], str]:
        v = Violations()
        size = v.page_size(size)
        v.raise_if_any()
        cursor = self._tokens.decode(token, listing, {})
        if cursor is not None and (len(cursor) != 1 or not isinstance(cursor[0], str)):
            raise InvalidArgument.one("page_token", "malformed cursor")

        def work(session: Session) -> list[Any]:
            query = select(model).order_by(model.id).limit(size + 1)
            if cursor is not None:
                query = query.where(model.id > cursor[0])
            return list(session.scalars(query))

        rows = self._db.transaction(work, readonly=True)
        if len(rows) <= size:
            return rows, ""
        rows = rows[:size]
        return rows, self._tokens.encode(listing, {}, [rows[-1].id])


def _availability_reason(request: svc.SetChannelAvailabilityRequest) -> str:
    if request.available:
        return "channel marked available"
    until = converters.opt_ts(request, "until")
    return f"channel unavailable until {until.isoformat() if until else 'further notice'}: " + (
        request.reason
    )
