"""The tables: channels, videos, distributions, decisions, runs and stored request results.

Invariants 1 and 2 of DESIGN.md live here as partial unique indexes over the live states, so
the database refuses a duplicate or a double-booked slot whatever the application does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from persistence.base import Base, BigId, UTCDateTime, utcnow
from persistence.enums import (
    LIVE_STATES,
    DecisionKind,
    DistributionMethod,
    DistributionState,
    EnumText,
    QuotaWindow,
    RunState,
    VideoState,
)


class Channel(Base):
    """A publishing account; its filters, schedule and policies are kept as the API's JSON."""

    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    platform: Mapped[str] = mapped_column(String(64), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    unavailable_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unavailable_reason: Mapped[str] = mapped_column(Text, default="")
    # Consecutive outages reported by workers; the outage cooldown grows with it.
    outage_count: Mapped[int] = mapped_column(Integer, default=0)
    # ContentFilters, Preferences, PostingSchedule, Transformation[] and RetryPolicy as the
    # API's JSON (proto field names): one converter serves the API, the allocator and storage.
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: The quota pools its publications count against, in the order the operator gave them.
    quota_links: Mapped[list[ChannelQuotaPool]] = relationship(
        order_by="ChannelQuotaPool.position", cascade="all, delete-orphan"
    )

    @property
    def quota_pool_ids(self) -> list[str]:
        """The ids of the channel's quota pools, in order."""
        return [link.pool_id for link in self.quota_links]


class QuotaPool(Base):
    """A platform limit shared by the channels that name it: `limit` publications per window."""

    __tablename__ = "quota_pools"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # "limit" and "window" are SQL keywords: plain column names keep hand-written SQL simple.
    limit: Mapped[int] = mapped_column("quota_limit", Integer)
    window: Mapped[QuotaWindow] = mapped_column("window_kind", EnumText(QuotaWindow, 16))
    timezone: Mapped[str] = mapped_column(String(64), default="")
    #: The platform reported the pool full: none of its channels' work is leased before this.
    exhausted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ChannelQuotaPool(Base):
    """A channel's membership of a quota pool (Channel.quota_pool_ids, `position` its index)."""

    __tablename__ = "channel_quota_pools"
    __table_args__ = (PrimaryKeyConstraint("channel_id", "pool_id"),)

    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"))
    pool_id: Mapped[str] = mapped_column(ForeignKey("quota_pools.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class QuotaPoolWindow(Base):
    """One window of a pool, a row to lock: every writer that puts a live distribution into
    the window locks it (FOR UPDATE) before counting, so replicas never overdraw the pool."""

    __tablename__ = "quota_pool_windows"
    __table_args__ = (PrimaryKeyConstraint("pool_id", "window_start"),)

    pool_id: Mapped[str] = mapped_column(ForeignKey("quota_pools.id"))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)


class Video(Base):
    """A registered video."""

    __tablename__ = "videos"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    watermarked: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(35), default="")
    state: Mapped[VideoState] = mapped_column(
        EnumText(VideoState, 16), default=VideoState.READY, index=True
    )
    available_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Distribution(Base):
    """One video on one channel, through its publishing lifecycle."""

    __tablename__ = "distributions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.id"), index=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"), index=True)
    # The video's normalised source URL, copied so that one index can refuse a second live
    # distribution of the same source on a channel under another video id.
    source_url: Mapped[str] = mapped_column(Text)
    method: Mapped[DistributionMethod] = mapped_column(EnumText(DistributionMethod, 16))
    state: Mapped[DistributionState] = mapped_column(EnumText(DistributionState, 16))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    transformations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    external_id: Mapped[str] = mapped_column(Text, default="")
    external_url: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    actor: Mapped[str] = mapped_column(String(128), default="")
    duplicate_override: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The weight of its slot (WeeklySlot.weight): the plan valued it at score * slot_weight.
    slot_weight: Mapped[float] = mapped_column(Float, default=1.0, server_default=text("1.0"))
    lease_token: Mapped[str | None] = mapped_column(String(64))
    leased_by: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Literal SQL so that both dialects (and the migration) share one predicate.
_LIVE_SQL = "state IN (" + ", ".join(f"'{s.value}'" for s in LIVE_STATES) + ")"
_live = text(_LIVE_SQL)
_live_not_override = text(_LIVE_SQL + " AND NOT duplicate_override")

Index(
    "uq_distributions_live_video_channel",
    Distribution.video_id,
    Distribution.channel_id,
    unique=True,
    sqlite_where=_live_not_override,
    postgresql_where=_live_not_override,
)
Index(
    "uq_distributions_live_source_channel",
    Distribution.source_url,
    Distribution.channel_id,
    unique=True,
    sqlite_where=_live_not_override,
    postgresql_where=_live_not_override,
)
Index(
    "uq_distributions_live_slot",
    Distribution.channel_id,
    Distribution.scheduled_at,
    unique=True,
    sqlite_where=_live,
    postgresql_where=_live,
)
# Assign's duplicate lookups: a channel's live distributions of one video, or of one source URL,
# overridden duplicates included (the unique indexes above leave those out, so they cannot
# answer "is anything live"). The taken-slot query uses uq_distributions_live_slot.
Index(
    "ix_distributions_live_channel_video",
    Distribution.channel_id,
    Distribution.video_id,
    sqlite_where=_live,
    postgresql_where=_live,
)
Index(
    "ix_distributions_live_channel_source",
    Distribution.channel_id,
    Distribution.source_url,
    sqlite_where=_live,
    postgresql_where=_live,
)
# The lease queue: due work ordered by time, by state.
Index("ix_distributions_state_due", Distribution.state, Distribution.scheduled_at)


class Decision(Base):
    """An append-only audit entry: what was decided, why, by whom."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    video_id: Mapped[str | None] = mapped_column(String(128), index=True)
    channel_id: Mapped[str | None] = mapped_column(String(64), index=True)
    distribution_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[DecisionKind] = mapped_column(EnumText(DecisionKind, 32))
    method: Mapped[DistributionMethod | None] = mapped_column(EnumText(DistributionMethod, 16))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(128), default="")
    run_id: Mapped[str | None] = mapped_column(String(36), index=True)


class Run(Base):
    """One AutoDistribute run: parameters, sizes and what the solver proved."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    solver_status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[int] = mapped_column(BigInteger, default=0)
    best_bound: Mapped[int] = mapped_column(BigInteger, default=0)
    gap: Mapped[float] = mapped_column(Float, default=0.0)
    candidate_count: Mapped[int] = mapped_column(BigInteger, default=0)
    slot_count: Mapped[int] = mapped_column(BigInteger, default=0)
    video_count: Mapped[int] = mapped_column(BigInteger, default=0)
    channel_count: Mapped[int] = mapped_column(BigInteger, default=0)
    assignment_count: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped_count: Mapped[int] = mapped_column(BigInteger, default=0)
    wall_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    actor: Mapped[str] = mapped_column(String(128), default="")
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    state: Mapped[RunState] = mapped_column(EnumText(RunState, 16), default=RunState.APPLIED)
    #: A proposal's last moment to be applied; None for a written run.
    expire_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    change_count: Mapped[int] = mapped_column(BigInteger, default=0)
    #: A proposal's plan, compactly (server/usecases/proposals.py); None for a written run.
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)


Index("ix_runs_state_create_time", Run.state, Run.create_time)


class StoredResponse(Base):
    """The response of a mutating call with a request_id, stored with its effect (invariant 6)."""

    __tablename__ = "stored_responses"

    method: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Hash of the request, so that a reused request_id with a different request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[bytes] = mapped_column(LargeBinary)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
