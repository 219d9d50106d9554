"""The publishing lifecycle: leases to upload workers, their reports, retries and outages.

    SCHEDULED --lease--> PUBLISHING --published--> PUBLISHED
        ^                    |  \\--failed, not retryable / out of attempts--> FAILED
        |                    |--failed, retryable: attempts+1, backoff------> SCHEDULED
        |                    |--failed, channel down: not charged, hold-----> SCHEDULED
        |                    \\--lease expired: outcome unknown, unconfirmed-> (leased again)
        \\------------------------- Retry (operator) <------------------------ FAILED

Claiming is race-free on both databases: FOR UPDATE SKIP LOCKED on PostgreSQL (concurrent
workers skip each other's rows instead of waiting), BEGIN IMMEDIATE on SQLite. Every lease
carries a fresh fencing token; a report with any other token changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from persistence.base import utcnow
from persistence.database import Database
from server import converters
from server.assignment import live_duplicate, lock_channels, next_free_slot
from server.audit import record, record_for
from server.errors import FailedPrecondition
from server.records import get_distribution_row
from server.retry_policy import policy_for
from server.validation import CHANNEL_ID, DISTRIBUTION_ID, Violations

MAX_LEASE_BATCH = 100
DEFAULT_LEASE_BATCH = 10
DEFAULT_LEASE_SECONDS = 300
MAX_LEASE_SECONDS = 3600
MAX_RETRY_IDS = 1000
MAX_LOOKAHEAD = timedelta(days=7)
D = models.Distribution
C = models.Channel


class Publishing:
    """LeasePublications, ReportPublication and Retry."""

    def __init__(
        self,
        db: Database,
        *,
        outage_cooldown: timedelta = timedelta(minutes=5),
        outage_max_cooldown: timedelta = timedelta(hours=24),
    ) -> None:
        self._db = db
        self._outage_cooldown = outage_cooldown
        self._outage_max_cooldown = outage_max_cooldown

    # --- leases ---

    def lease(self, request: svc.LeasePublicationsRequest) -> svc.LeasePublicationsResponse:
        """Leases due publications, oldest first, each to this worker alone."""
        v = Violations()
        v.check(bool(request.worker_id.strip()), "worker_id", "required")
        v.text(request.worker_id, "worker_id", max_length=128)
        v.check(0 <= request.limit <= MAX_LEASE_BATCH, "limit", f"must be 0..{MAX_LEASE_BATCH}")
        v.check(
            0 <= request.lease_seconds <= MAX_LEASE_SECONDS,
            "lease_seconds",
            f"must be 0..{MAX_LEASE_SECONDS}",
        )
        v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=1000)
        lookahead = request.lookahead.ToTimedelta()
        v.check(timedelta(0) <= lookahead <= MAX_LOOKAHEAD, "lookahead", "must be 0..7 days")
        v.raise_if_any()
        limit = request.limit or DEFAULT_LEASE_BATCH
        lease_for = timedelta(seconds=request.lease_seconds or DEFAULT_LEASE_SECONDS)

        def work(session: Session) -> svc.LeasePublicationsResponse:
            now = utcnow()
            rows = self._claim(session, now, lookahead, limit, request.channel_ids)
            return svc.LeasePublicationsResponse(
                leases=[
                    self._lease_one(session, row, request.worker_id, now, lease_for) for row in rows
                ]
            )

        return self._db.transaction(work)

    def _claim(
        self,
        session: Session,
        now: datetime,
        lookahead: timedelta,
        limit: int,
        channel_ids: Sequence[str],
    ) -> list[models.Distribution]:
        due = or_(
            and_(
                D.state == "SCHEDULED",
                D.scheduled_at <= now + lookahead,
                or_(D.next_attempt_at.is_(None), D.next_attempt_at <= now),
            ),
            # A lease that ran out without a report: its worker died or lost the outcome.
            and_(D.state == "PUBLISHING", D.lease_expires_at <= now),
        )
        channel_ok = and_(
            C.active.is_(True),
            or_(C.available.is_(True), C.unavailable_until <= now),
        )
        query = (
            select(D)
            .join(C, C.id == D.channel_id)
            .where(due, channel_ok)
            .order_by(D.scheduled_at, D.id)
            .limit(limit)
            # SKIP LOCKED: concurrent workers take disjoint rows instead of queueing behind
            # each other. SQLite ignores it; BEGIN IMMEDIATE serialised this transaction.
            .with_for_update(of=D, skip_locked=True)
        )
        if channel_ids:
            query = query.where(D.channel_id.in_(channel_ids))
        return list(session.scalars(query))

    def _lease_one(
        self,
        session: Session,
        row: models.Distribution,
        worker_id: str,
        now: datetime,
        lease_for: timedelta,
    ) -> svc.Lease:
        if row.state == "PUBLISHING":
            # The upload may have happened: never count it as a failure, never retry blindly.
            row.unconfirmed = True
            record_for(
                session,
                row,
                "LEASE_EXPIRED",
                reason=f"lease of {row.leased_by} expired without a report; outcome unknown",
                actor=worker_id,
                details={"code": "LEASE_EXPIRED", "previous_worker": row.leased_by or ""},
            )
        row.state = "PUBLISHING"
        row.lease_token = secrets.token_hex(16)
        row.leased_by = worker_id
        row.lease_expires_at = now + lease_for
        record_for(
            session,
            row,
            "LEASED",
            reason=f"leased to {worker_id} until {row.lease_expires_at.isoformat()}",
            actor=worker_id,
            details={"code": "LEASED", "attempt": row.attempts + 1, "unconfirmed": row.unconfirmed},
        )
        session.flush()
        lease = svc.Lease(
            distribution=converters.distribution_to_proto(row),
            lease_token=row.lease_token,
            idempotency_key=row.id,
            previous_attempt_unconfirmed=row.unconfirmed,
        )
        lease.lease_expire_time.CopyFrom(converters.dt_to_ts(row.lease_expires_at))
        return lease

    # --- reports ---

    def report(self, request: svc.ReportPublicationRequest) -> pb.Distribution:
        """Applies a worker's report to the leased distribution; stale tokens change nothing."""
        v = Violations()
        v.identifier(request.distribution_id, "distribution_id", DISTRIBUTION_ID, "distribution")
        v.check(bool(request.lease_token), "lease_token", "required")
        outcome = request.WhichOneof("outcome")
        v.check(outcome is not None, "outcome", "one of published or failed is required")
        if outcome == "published":
            v.text(request.published.external_id, "published.external_id", max_length=512)
            v.text(request.published.url, "published.url")
        elif outcome == "failed":
            v.text(request.failed.error, "failed.error")
        v.raise_if_any()

        def work(session: Session) -> pb.Distribution:
            row = get_distribution_row(
                session, request.distribution_id, "distribution_id", lock=True
            )
            if row.lease_token != request.lease_token:
                raise FailedPrecondition(
                    f"lease token is stale or unknown for distribution {row.id}: another "
                    "worker holds it or the lease ended; the report changed nothing",
                    metadata={"state": row.state},
                )
            if row.state != "PUBLISHING":
                # This lease was already reported: the repeat is harmless.
                return converters.distribution_to_proto(row)
            now = utcnow()
            if outcome == "published":
                self._published(session, row, request.published, now)
            else:
                self._failed(session, row, request.failed, now)
            session.flush()
            return converters.distribution_to_proto(row)

        return self._db.transaction(work)

    def _published(
        self,
        session: Session,
        row: models.Distribution,
        outcome: svc.PublishedOutcome,
        now: datetime,
    ) -> None:
        row.state = "PUBLISHED"
        row.attempts += 1
        row.external_id = outcome.external_id
        row.external_url = outcome.url
        row.lease_expires_at = None
        was_unconfirmed, row.unconfirmed = row.unconfirmed, False
        channel = session.get(models.Channel, row.channel_id)
        if channel is not None:
            channel.outage_count = 0  # the outage streak is over
        record_for(
            session,
            row,
            "PUBLISHED",
            reason=f"published as {outcome.external_id or 'unknown id'}",
            actor=row.leased_by or "",
            details={
                "code": "PUBLISHED",
                "attempt": row.attempts,
                "external_id": outcome.external_id,
                "url": outcome.url,
                "after_unconfirmed": was_unconfirmed,
            },
        )

    def _failed(
        self,
        session: Session,
        row: models.Distribution,
        outcome: svc.FailedOutcome,
        now: datetime,
    ) -> None:
        row.last_error = outcome.error
        row.lease_expires_at = None
        row.unconfirmed = False
        worker = row.leased_by or ""
        channel = session.get(models.Channel, row.channel_id)
        if outcome.channel_unavailable and channel is not None:
            self._channel_outage(session, channel, outcome.error, worker, now)
            row.state = "SCHEDULED"
            row.next_attempt_at = None
            record_for(
                session,
                row,
                "RETRY_SCHEDULED",
                reason=f"channel unavailable ({outcome.error}); held until it returns, "
                "attempt not charged",
                actor=worker,
                details={
                    "code": "CHANNEL_UNAVAILABLE",
                    "error": outcome.error,
                    "attempts": row.attempts,
                },
            )
            return
        row.attempts += 1
        policy = policy_for(channel) if channel is not None else None
        if outcome.retryable and policy is not None and row.attempts < row.max_attempts:
            wait = policy.backoff(row.attempts)
            row.state = "SCHEDULED"
            row.next_attempt_at = now + wait
            record_for(
                session,
                row,
                "RETRY_SCHEDULED",
                reason=f"attempt {row.attempts}/{row.max_attempts} failed ({outcome.error}); "
                f"retry at {row.next_attempt_at.isoformat()}",
                actor=worker,
                details={
                    "code": "RETRYABLE",
                    "error": outcome.error,
                    "attempts": row.attempts,
                    "backoff_seconds": round(wait.total_seconds(), 3),
                },
            )
            return
        row.state = "FAILED"
        code = "OUT_OF_ATTEMPTS" if outcome.retryable else "NOT_RETRYABLE"
        why = (
            f"gave up after {row.attempts} attempts"
            if outcome.retryable
            else "failure is not retryable"
        )
        record_for(
            session,
            row,
            "GAVE_UP",
            reason=f"{why}: {outcome.error}",
            actor=worker,
            details={"code": code, "error": outcome.error, "attempts": row.attempts},
        )

    def _channel_outage(
        self, session: Session, channel: models.Channel, error: str, worker: str, now: datetime
    ) -> None:
        """Marks the channel down; a new outage streak step lengthens the cooldown."""
        if not channel.available and (
            channel.unavailable_until is None or channel.unavailable_until > now
        ):
            return  # already down: one outage, however many workers report it
        channel.outage_count += 1
        exponent = min(channel.outage_count - 1, 32)
        cooldown = min(self._outage_cooldown * 2**exponent, self._outage_max_cooldown)
        channel.available = False
        channel.unavailable_until = now + cooldown
        channel.unavailable_reason = f"outage reported by {worker}: {error}"
        record(
            session,
            "AVAILABILITY_CHANGED",
            reason=f"outage #{channel.outage_count} reported by {worker}; unavailable until "
            f"{channel.unavailable_until.isoformat()}",
            actor=worker,
            channel_id=channel.id,
            details={
                "code": "OUTAGE",
                "available": False,
                "error": error,
                "consecutive_outages": channel.outage_count,
                "cooldown_seconds": cooldown.total_seconds(),
            },
        )

    # --- operator retries ---

    def retry(self, request: svc.RetryRequest, actor: str) -> svc.RetryResponse:
        """Puts FAILED distributions back in the queue (see `_retry_one` for the slot rule)."""
        v = Violations()
        selectors = sum(
            [bool(request.distribution_ids), bool(request.channel_id), request.all_failed]
        )
        v.check(
            selectors == 1,
            "distribution_ids",
            "set exactly one of distribution_ids, channel_id, all_failed",
        )
        v.identifiers(
            request.distribution_ids,
            "distribution_ids",
            DISTRIBUTION_ID,
            "distribution",
            max_items=MAX_RETRY_IDS,
        )
        if request.channel_id:
            v.identifier(request.channel_id, "channel_id", CHANNEL_ID, "channel")
        v.raise_if_any()

        def work(session: Session) -> svc.RetryResponse:
            now = utcnow()
            query = select(D).order_by(D.scheduled_at, D.id).with_for_update()
            if request.distribution_ids:
                query = query.where(D.id.in_(request.distribution_ids))
            else:
                query = query.where(D.state == "FAILED")
                if request.channel_id:
                    query = query.where(D.channel_id == request.channel_id)
            rows = {row.id: row for row in session.scalars(query)}
            lock_channels(session, sorted({r.channel_id for r in rows.values()}))
            response = svc.RetryResponse()
            for distribution_id in request.distribution_ids or list(rows):
                row = rows.get(distribution_id)
                if row is None:
                    response.skipped.add(distribution_id=distribution_id, reason="not found")
                    continue
                problem = self._retry_one(session, row, request.reset_attempts, actor, now)
                if problem:
                    response.skipped.add(distribution_id=row.id, reason=problem)
                else:
                    response.retried.append(converters.distribution_to_proto(row))
            return response

        return self._db.transaction(work)

    def _retry_one(
        self, session: Session, row: models.Distribution, reset: bool, actor: str, now: datetime
    ) -> str:
        """Requeues one FAILED distribution; returns why not, or '' when done.

        Slot rule: it keeps its own slot when that instant is still free, so a past slot makes
        it due at once; when another live distribution took the instant, it moves to the
        channel's next free slot.
        """
        if row.state != "FAILED":
            return f"state is {row.state}, not FAILED"
        video = session.get(models.Video, row.video_id)
        duplicate = live_duplicate(session, video, row.channel_id) if video else None
        if duplicate is not None and not row.duplicate_override:
            return f"a live distribution {duplicate.id} of this video or source is on the channel"
        channel = session.get(models.Channel, row.channel_id)
        slot_taken = session.scalar(
            select(D.id).where(
                D.channel_id == row.channel_id,
                D.scheduled_at == row.scheduled_at,
                D.state.in_(models.LIVE_STATES),
            )
        )
        old_slot = row.scheduled_at
        if slot_taken is not None and channel is not None:
            schedule = converters.channel_row_to_domain(channel).schedule
            slot = next_free_slot(session, channel, schedule, now)
            if slot is None:
                return "its slot was taken and the channel has no free slot"
            row.scheduled_at = slot
        if reset:
            row.attempts = 0
        # Without a reset, an operator's retry grants at least one more attempt.
        row.max_attempts = max(row.max_attempts, row.attempts + 1)
        row.state = "SCHEDULED"
        row.next_attempt_at = None
        row.lease_token = None
        details: dict[str, Any] = {
            "code": "RETRIED",
            "reset_attempts": reset,
            "attempts": row.attempts,
            "previous_error": row.last_error,
            "slot": row.scheduled_at.isoformat(),
            "previous_slot": old_slot.isoformat(),
        }
        record_for(
            session,
            row,
            "RETRIED",
            reason=f"retried by {actor}; due {row.scheduled_at.isoformat()}",
            actor=actor,
            details=details,
        )
        session.flush()
        return ""
