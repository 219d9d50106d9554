"""Manual assignment (Assign) and pair explanations (Explain).

Assign decides one video on each requested channel in request order: duplicate, availability,
filters, then a slot. `force` overrides filters, schedule and availability; only
`allow_duplicate` overrides duplicate prevention. Every outcome, rejection included, is a
decision written in the same transaction as the distribution it describes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from allocator import calendar, filters, scoring
from allocator import domain as d
from distribution.v1 import distribution_service_pb2 as svc
from persistence import models
from persistence.base import utcnow
from persistence.database import Database
from server import converters
from server.audit import record, record_for
from server.catalog import available_now, get_channel_row, get_video_row
from server.errors import NotFound
from server.idempotency import run_idempotent
from server.retry_policy import policy_for
from server.validation import (
    CHANNEL_ID,
    VIDEO_ID,
    Violations,
    validate_request_id,
)

#: How far ahead Assign looks for a channel's next free slot.
SLOT_SEARCH_HORIZON = timedelta(days=62)
#: A requested slot may lie at most this far in the past (clock skew between caller and server).
PAST_TOLERANCE = timedelta(minutes=5)
MAX_CHANNELS_PER_ASSIGN = 100
MAX_EXPLAIN_VIDEOS = 100

OUTCOME = svc.AssignOutcome


@dataclass
class _Verdict:
    """What Assign found for one pair before writing anything."""

    outcome: Any  # an AssignOutcome value
    reason: str
    code: str
    failed_filters: tuple[str, ...] = ()
    overrides: list[str] = field(default_factory=list)
    duplicate_of: str = ""
    slot: datetime | None = None


def video_blockers(video: models.Video, now: datetime) -> list[str]:
    """Why the video may not be distributed now (not READY, before available_from, expired)."""
    blockers = []
    if video.state != "READY":
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


def live_duplicate(
    session: Session, video: models.Video, channel_id: str
) -> models.Distribution | None:
    """A live distribution of the same video, or of the same source URL, on the channel."""
    return session.scalars(
        select(models.Distribution)
        .where(
            models.Distribution.channel_id == channel_id,
            models.Distribution.state.in_(models.LIVE_STATES),
            or_(
                models.Distribution.video_id == video.id,
                models.Distribution.source_url == video.source_url,
            ),
        )
        .order_by(models.Distribution.create_time)
        .limit(1)
    ).first()


def taken_times(
    session: Session, channel_id: str, start: datetime, end: datetime
) -> list[datetime]:
    """Instants held by live distributions of the channel in [start, end)."""
    return list(
        session.scalars(
            select(models.Distribution.scheduled_at).where(
                models.Distribution.channel_id == channel_id,
                models.Distribution.state.in_(models.LIVE_STATES),
                models.Distribution.scheduled_at >= start,
                models.Distribution.scheduled_at < end,
            )
        )
    )


def next_free_slot(
    session: Session, channel: models.Channel, schedule: d.PostingSchedule, now: datetime
) -> datetime | None:
    """The channel's first slot of `schedule` after `now` that no live distribution holds."""
    end = now + SLOT_SEARCH_HORIZON
    free = calendar.free_slots(
        calendar.slot_times(schedule, channel.timezone, now, end),
        # A day's cap counts posts already on it, so look a day beyond each end.
        taken_times(session, channel.id, now - timedelta(days=1), end + timedelta(days=1)),
        channel.timezone,
        schedule.max_posts_per_day,
    )
    return free[0] if free else None


def lock_channels(session: Session, channel_ids: Sequence[str]) -> dict[str, models.Channel]:
    """Loads the channels, row-locked on PostgreSQL in id order (no deadlocks between callers).

    The lock serialises every writer of a channel's slots across replicas; on SQLite the
    transaction's BEGIN IMMEDIATE already did.
    """
    rows = session.scalars(
        select(models.Channel)
        .where(models.Channel.id.in_(sorted(set(channel_ids))))
        .order_by(models.Channel.id)
        .with_for_update()
    )
    return {row.id: row for row in rows}


class Assignment:
    """Assign and Explain."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def assign(self, request: svc.AssignRequest, actor: str) -> svc.AssignResponse:
        """Assigns one video to each requested channel; one result per channel."""
        v = Violations()
        v.identifier(request.video_id, "video_id", VIDEO_ID, "video")
        v.identifiers(
            request.channel_ids,
            "channel_ids",
            CHANNEL_ID,
            "channel",
            max_items=MAX_CHANNELS_PER_ASSIGN,
            required=True,
        )
        v.timestamp(request, "scheduled_at", "scheduled_at")
        now = utcnow()
        requested = converters.opt_ts(request, "scheduled_at")
        if requested is not None:
            v.check(requested >= now - PAST_TOLERANCE, "scheduled_at", "must not be in the past")
        v.text(request.note, "note")
        validate_request_id(request.request_id, v)
        v.raise_if_any()

        def work(session: Session) -> svc.AssignResponse:
            video = get_video_row(session, request.video_id, "video_id")
            channels = lock_channels(session, request.channel_ids)
            for i, channel_id in enumerate(request.channel_ids):
                if channel_id not in channels:
                    raise NotFound("channel", channel_id, field=f"channel_ids[{i}]")
            return svc.AssignResponse(
                results=[
                    self._assign_one(session, request, video, channels[cid], requested, actor, now)
                    for cid in request.channel_ids
                ]
            )

        return run_idempotent(
            self._db, "Assign", request, request.request_id, svc.AssignResponse, work
        )

    def _assign_one(
        self,
        session: Session,
        request: svc.AssignRequest,
        video: models.Video,
        channel: models.Channel,
        requested: datetime | None,
        actor: str,
        now: datetime,
    ) -> svc.AssignResult:
        dom_video = converters.video_row_to_domain(video)
        dom_channel = converters.channel_row_to_domain(channel)
        match = filters.check(dom_video, dom_channel)
        verdict = self._judge(
            session, request, video, channel, dom_channel.schedule, match, requested, now
        )
        result = svc.AssignResult(
            channel_id=channel.id,
            outcome=verdict.outcome,
            reason=verdict.reason,
            failed_filters=verdict.failed_filters,
        )
        details: dict[str, Any] = {"code": verdict.code, "note": request.note}
        if verdict.failed_filters:
            details["failed_filters"] = list(verdict.failed_filters)
        if verdict.duplicate_of:
            details["duplicate_of"] = verdict.duplicate_of
        if verdict.outcome != OUTCOME.ASSIGN_OUTCOME_ASSIGNED:
            record(
                session,
                "REJECTED",
                reason=verdict.reason,
                actor=actor,
                video_id=video.id,
                channel_id=channel.id,
                method="MANUAL",
                details=details,
            )
            return result
        breakdown = scoring.score(dom_video, dom_channel, match)
        details["score"] = breakdown.as_dict()
        details["overrides"] = verdict.overrides
        distribution = models.Distribution(
            id=str(uuid.uuid4()),
            video_id=video.id,
            channel_id=channel.id,
            source_url=video.source_url,
            method="MANUAL",
            state="SCHEDULED",
            scheduled_at=verdict.slot,
            score=breakdown.total,
            reason=verdict.reason,
            details=details,
            transformations=[converters.transformation_to_json(t) for t in match.transformations],
            attempts=0,
            max_attempts=policy_for(channel).max_attempts,
            actor=actor,
            duplicate_override=bool(verdict.duplicate_of),
        )
        session.add(distribution)
        session.flush()
        record_for(
            session,
            distribution,
            "OVERRIDE" if verdict.overrides else "ASSIGNED",
            reason=verdict.reason,
            actor=actor,
            details=details,
        )
        result.distribution.CopyFrom(converters.distribution_to_proto(distribution))
        return result

    def _judge(
        self,
        session: Session,
        request: svc.AssignRequest,
        video: models.Video,
        channel: models.Channel,
        schedule: d.PostingSchedule,
        match: filters.Match,
        requested: datetime | None,
        now: datetime,
    ) -> _Verdict:
        overrides: list[str] = []
        duplicate = live_duplicate(session, video, channel.id)
        if duplicate is not None:
            what = "video" if duplicate.video_id == video.id else "source URL"
            text = f"{what} already live on {channel.id} as distribution {duplicate.id}"
            if not request.allow_duplicate:
                return _Verdict(
                    OUTCOME.ASSIGN_OUTCOME_REJECTED_DUPLICATE,
                    text,
                    "DUPLICATE",
                    duplicate_of=duplicate.id,
                )
            overrides.append(f"duplicate: {text}")
        blockers = channel_blockers(channel, now) + video_blockers(video, now)
        if blockers:
            if not request.force:
                return _Verdict(
                    OUTCOME.ASSIGN_OUTCOME_REJECTED_UNAVAILABLE, "; ".join(blockers), "UNAVAILABLE"
                )
            overrides.extend(f"availability: {b}" for b in blockers)
        if not match.eligible:
            text = "fails channel filters: " + ", ".join(match.failed_filters)
            if not request.force:
                return _Verdict(
                    OUTCOME.ASSIGN_OUTCOME_REJECTED_FILTER,
                    text,
                    "FILTER",
                    failed_filters=match.failed_filters,
                )
            overrides.append(f"filters: {text}")
        slot, slot_problem = self._slot(
            session, channel, schedule, requested, now, force=request.force
        )
        if slot is None:
            return _Verdict(OUTCOME.ASSIGN_OUTCOME_REJECTED_NO_SLOT, slot_problem, "NO_SLOT")
        if slot_problem:
            overrides.append(f"schedule: {slot_problem}")
        how = "assigned by hand"
        if overrides:
            how += " (override: " + ", ".join(o.split(":", 1)[0] for o in overrides) + ")"
        return _Verdict(
            OUTCOME.ASSIGN_OUTCOME_ASSIGNED,
            f"{how} to {channel.id} at {slot.isoformat()}",
            "OVERRIDE" if overrides else "MANUAL",
            overrides=overrides,
            duplicate_of=duplicate.id if duplicate is not None else "",
            slot=slot,
        )

    def _slot(
        self,
        session: Session,
        channel: models.Channel,
        schedule: d.PostingSchedule,
        requested: datetime | None,
        now: datetime,
        *,
        force: bool,
    ) -> tuple[datetime | None, str]:
        """(slot, note): the slot to use, or None and why not; a note marks an off-schedule slot."""
        if requested is None:
            slot = next_free_slot(session, channel, schedule, now)
            if slot is None:
                return (
                    None,
                    f"no free slot on {channel.id} in the next {SLOT_SEARCH_HORIZON.days} days",
                )
            return slot, ""
        tz = channel.timezone
        requested = requested.replace(microsecond=0)
        lo, hi = requested - timedelta(days=2), requested + timedelta(days=2)
        taken = taken_times(session, channel.id, lo, hi)
        if requested in taken:
            return None, f"slot {requested.isoformat()} on {channel.id} is already taken"
        on_calendar = requested in calendar.free_slots(
            calendar.slot_times(schedule, tz, lo, hi), taken, tz, schedule.max_posts_per_day
        )
        if on_calendar:
            return requested, ""
        problem = f"{requested.isoformat()} is not a free slot of {channel.id}'s schedule"
        return (requested, problem) if force else (None, problem)

    # --- Explain ---

    def explain(self, request: svc.ExplainRequest) -> svc.ExplainResponse:
        """The match of every requested pair, with the filters and scores AutoDistribute uses."""
        v = Violations()
        v.identifiers(
            request.video_ids,
            "video_ids",
            VIDEO_ID,
            "video",
            max_items=MAX_EXPLAIN_VIDEOS,
            required=True,
        )
        v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=1000)
        v.raise_if_any()

        def work(session: Session) -> svc.ExplainResponse:
            now = utcnow()
            videos = [
                get_video_row(session, vid, f"video_ids[{i}]")
                for i, vid in enumerate(request.video_ids)
            ]
            if request.channel_ids:
                channels = [
                    get_channel_row(session, cid, f"channel_ids[{i}]")
                    for i, cid in enumerate(request.channel_ids)
                ]
            else:
                channels = list(session.scalars(select(models.Channel).order_by(models.Channel.id)))
            dom_channels = [(c, converters.channel_row_to_domain(c)) for c in channels]
            pairs = []
            for video in videos:
                dom_video = converters.video_row_to_domain(video)
                for channel, dom_channel in dom_channels:
                    pairs.append(
                        self._explain_pair(session, video, dom_video, channel, dom_channel, now)
                    )
            return svc.ExplainResponse(pairs=pairs)

        return self._db.transaction(work, readonly=True)

    def _explain_pair(
        self,
        session: Session,
        video: models.Video,
        dom_video: d.Video,
        channel: models.Channel,
        dom_channel: d.Channel,
        now: datetime,
    ) -> svc.PairExplanation:
        match = filters.check(dom_video, dom_channel)
        duplicate = live_duplicate(session, video, channel.id)
        pair = svc.PairExplanation(
            video_id=video.id,
            channel_id=channel.id,
            eligible=match.eligible,
            score=scoring.score(dom_video, dom_channel, match).total,
            failed_filters=match.failed_filters,
            duplicate_of=duplicate.id if duplicate else "",
            blockers=channel_blockers(channel, now) + video_blockers(video, now),
        )
        pair.transformations.extend(
            converters.transformation_to_proto(t) for t in match.transformations
        )
        return pair
