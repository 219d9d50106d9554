"""Publishing: leases of due publications to upload workers, and the workers' reports.

Claiming is race-free on both databases (the repository's SKIP LOCKED claim on PostgreSQL,
BEGIN IMMEDIATE on SQLite). Every lease carries a fresh fencing token; a report with any other
token changes nothing. State changes go through `lifecycle.apply`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from persistence import models
from persistence.base import utcnow
from persistence.enums import DecisionKind, DistributionState
from persistence.repositories import Repositories
from server.usecases import lookups, missed_slots
from server.usecases.errors import FailedPrecondition, InvalidArgument
from server.usecases.lifecycle import Event, apply
from server.usecases.quotas import describe, reset_of
from server.usecases.retry_policy import policy_for


@dataclass(frozen=True)
class OutagePolicy:
    """How long a channel rests after a reported outage: `cooldown`, doubled per consecutive
    outage, at most `max_cooldown`."""

    cooldown: timedelta = timedelta(minutes=5)
    max_cooldown: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class LeaseCommand:
    """Lease up to `limit` due publications (scheduled up to `lookahead` ahead) to a worker."""

    worker_id: str
    limit: int
    lease_for: timedelta
    lookahead: timedelta
    channel_ids: tuple[str, ...]
    #: The authenticated principal, recorded as the actor; None (access open): the worker id.
    actor: str | None = None


@dataclass(frozen=True)
class Lease:
    """A leased distribution, the fencing token a report must carry, and until when it holds."""

    distribution: models.Distribution
    token: str
    expires_at: datetime
    idempotency_key: str
    previous_attempt_unconfirmed: bool


@dataclass(frozen=True)
class Published:
    """The upload succeeded."""

    external_id: str
    url: str


@dataclass(frozen=True)
class Failed:
    """The upload failed; `channel_unavailable` says the platform or account is down,
    `quota_pool_id` that the platform refused for the quota of that pool."""

    error: str
    retryable: bool
    channel_unavailable: bool
    quota_pool_id: str = ""


@dataclass(frozen=True)
class ReportCommand:
    """A worker's outcome for the distribution it leased with `lease_token`."""

    distribution_id: str
    lease_token: str
    outcome: Published | Failed
    #: The authenticated principal, recorded as the actor; None: the worker that leased it.
    actor: str | None = None


@dataclass(frozen=True)
class ReportResult:
    """The distribution after a report; `conflict` says why a repeated report that contradicts
    the first one changed nothing (the answer is then FAILED_PRECONDITION, after the commit of
    whatever the repeat recorded)."""

    distribution: models.Distribution
    conflict: str | None = None


def lease(repos: Repositories, command: LeaseCommand) -> list[Lease]:
    """Leases due publications, oldest first, each to this worker alone."""
    now = utcnow()
    rows = repos.distributions.claim_due(now, command.lookahead, command.limit, command.channel_ids)
    actor = command.actor or command.worker_id
    # Past its slot and grace, a publication is replanned, cancelled or released late by its
    # channel's policy, never handed out with the backlog at once.
    rows = missed_slots.split_missed(repos, rows, now, actor)
    return [
        _lease_one(repos, row, command.worker_id, actor, now, command.lease_for) for row in rows
    ]


def _lease_one(
    repos: Repositories,
    row: models.Distribution,
    worker_id: str,
    actor: str,
    now: datetime,
    lease_for: timedelta,
) -> Lease:
    if row.state == DistributionState.PUBLISHING:
        # The upload may have happened: never count it as a failure, never retry blindly.
        row.unconfirmed = True
        repos.decisions.record_for(
            row,
            DecisionKind.LEASE_EXPIRED,
            reason=f"lease of {row.leased_by} expired without a report; outcome unknown",
            actor=actor,
            details={"code": "LEASE_EXPIRED", "previous_worker": row.leased_by or ""},
        )
    apply(row, Event.LEASE)
    token = secrets.token_hex(16)
    expires_at = now + lease_for
    row.lease_token, row.leased_by, row.lease_expires_at = token, worker_id, expires_at
    repos.decisions.record_for(
        row,
        DecisionKind.LEASED,
        reason=f"leased to {worker_id} until {expires_at.isoformat()}",
        actor=actor,
        details={
            "code": "LEASED",
            "attempt": row.attempts + 1,
            "unconfirmed": row.unconfirmed,
            "worker_id": worker_id,
        },
    )
    repos.flush()
    return Lease(row, token, expires_at, row.id, row.unconfirmed)


def report(repos: Repositories, command: ReportCommand, outages: OutagePolicy) -> ReportResult:
    """Applies a worker's report to the leased distribution; stale tokens change nothing, and a
    second report of the same lease is answered by `_repeated_report`."""
    row = lookups.distribution(repos, command.distribution_id, "distribution_id", lock=True)
    if row.lease_token != command.lease_token:
        raise FailedPrecondition(
            f"lease token is stale or unknown for distribution {row.id}: another "
            "worker holds it or the lease ended; the report changed nothing",
            metadata={"state": row.state},
        )
    actor = command.actor or row.leased_by or ""
    if row.state != DistributionState.PUBLISHING:
        return _repeated_report(repos, row, command.outcome, actor)
    now = utcnow()
    if isinstance(command.outcome, Published):
        _published(repos, row, command.outcome, actor)
    else:
        _failed(repos, row, command.outcome, outages, actor, now)
    repos.flush()
    return ReportResult(row)


def _repeated_report(
    repos: Repositories, row: models.Distribution, outcome: Published | Failed, actor: str
) -> ReportResult:
    """A report for a lease that was already reported (the token still matches).

    The same report again (a client retry) gets the current state. A different one changes
    nothing and is a conflict, except that a "published" after a failure is recorded: the video
    is live on the platform, so its external id is kept (decision LATE_PUBLISHED), and a
    distribution still waiting for its retry is marked unconfirmed, so that the next worker
    checks the platform before uploading again.
    """
    published = row.state == DistributionState.PUBLISHED
    if isinstance(outcome, Published):
        if published and (row.external_id, row.external_url) == (outcome.external_id, outcome.url):
            return ReportResult(row)
        if published:
            return ReportResult(
                row,
                f"this lease was already reported published as {row.external_id!r}; the report "
                "changed nothing",
            )
        repos.decisions.record_for(
            row,
            DecisionKind.LATE_PUBLISHED,
            reason=f"published as {outcome.external_id or 'unknown id'} after the lease was "
            f"reported failed ({row.last_error}); the distribution stays {row.state}",
            actor=actor,
            details={
                "code": "LATE_PUBLISHED",
                "external_id": outcome.external_id,
                "url": outcome.url,
                "state": row.state,
                "previous_error": row.last_error,
            },
        )
        row.external_id, row.external_url = outcome.external_id, outcome.url
        if row.state == DistributionState.SCHEDULED:
            row.unconfirmed = True
        repos.flush()
        return ReportResult(
            row,
            f"this lease was already reported failed and the distribution is {row.state}; the "
            "late publication is recorded (decision LATE_PUBLISHED) with its external id",
        )
    if not published and row.last_error == outcome.error:
        return ReportResult(row)
    first = "published" if published else f"failed ({row.last_error})"
    return ReportResult(
        row,
        f"this lease was already reported {first}; the distribution is {row.state}; the report "
        "changed nothing",
    )


def _published(
    repos: Repositories, row: models.Distribution, outcome: Published, actor: str
) -> None:
    apply(row, Event.PUBLISHED)
    row.attempts += 1
    row.external_id = outcome.external_id
    row.external_url = outcome.url
    row.lease_expires_at = None
    was_unconfirmed, row.unconfirmed = row.unconfirmed, False
    channel = repos.channels.get(row.channel_id)
    if channel is not None:
        channel.outage_count = 0  # the outage streak is over
    repos.decisions.record_for(
        row,
        DecisionKind.PUBLISHED,
        reason=f"published as {outcome.external_id or 'unknown id'}",
        actor=actor,
        details={
            "code": "PUBLISHED",
            "attempt": row.attempts,
            "external_id": outcome.external_id,
            "url": outcome.url,
            "after_unconfirmed": was_unconfirmed,
        },
    )


def _failed(
    repos: Repositories,
    row: models.Distribution,
    outcome: Failed,
    outages: OutagePolicy,
    worker: str,
    now: datetime,
) -> None:
    if outcome.quota_pool_id:
        _quota_exhausted(repos, row, outcome, worker, now)
        return
    row.last_error = outcome.error
    row.lease_expires_at = None
    row.unconfirmed = False
    channel = repos.channels.get(row.channel_id)
    if outcome.channel_unavailable and channel is not None:
        _channel_outage(repos, channel, outcome.error, worker, outages, now)
        apply(row, Event.RETRY_LATER)
        row.next_attempt_at = None
        repos.decisions.record_for(
            row,
            DecisionKind.RETRY_SCHEDULED,
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
        apply(row, Event.RETRY_LATER)
        row.next_attempt_at = now + wait
        repos.decisions.record_for(
            row,
            DecisionKind.RETRY_SCHEDULED,
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
    apply(row, Event.GIVE_UP)
    code = "OUT_OF_ATTEMPTS" if outcome.retryable else "NOT_RETRYABLE"
    why = (
        f"gave up after {row.attempts} attempts"
        if outcome.retryable
        else ("failure is not retryable")
    )
    repos.decisions.record_for(
        row,
        DecisionKind.GAVE_UP,
        reason=f"{why}: {outcome.error}",
        actor=worker,
        details={"code": code, "error": outcome.error, "attempts": row.attempts},
    )


def _quota_exhausted(
    repos: Repositories, row: models.Distribution, outcome: Failed, worker: str, now: datetime
) -> None:
    """The platform refused for a pool's quota: the pool is full until its window resets, the
    attempt is not charged, and the distribution waits until then (so does every due
    publication of the pool's channels: the lease query holds them)."""
    field = "failed.quota_pool_id"
    pool = repos.quotas.lock(outcome.quota_pool_id)
    if pool is None:
        raise InvalidArgument.one(field, f"quota pool {outcome.quota_pool_id!r} does not exist")
    names = [p.id for p in repos.quotas.pools_of(row.channel_id)]
    if pool.id not in names:
        raise FailedPrecondition(
            f"{field}: channel {row.channel_id} does not count against quota pool {pool.id!r} "
            f"(its quota_pool_ids: {names}); the report changed nothing",
            metadata={"field": field, "channel_id": row.channel_id},
        )
    reset = reset_of(repos.quotas, pool, now, exclude=row.id)
    if pool.exhausted_until is None or pool.exhausted_until < reset:
        pool.exhausted_until = reset
    row.last_error = outcome.error
    row.lease_expires_at = None
    row.unconfirmed = False
    apply(row, Event.RETRY_LATER)
    row.next_attempt_at = pool.exhausted_until
    repos.decisions.record_for(
        row,
        DecisionKind.QUOTA_EXHAUSTED,
        reason=f"quota pool {describe(pool)} exhausted ({outcome.error}); waits until "
        f"{pool.exhausted_until.isoformat()}, attempt not charged",
        actor=worker,
        details={
            "code": "QUOTA_EXHAUSTED",
            "pool_id": pool.id,
            "error": outcome.error,
            "attempts": row.attempts,
            "until": pool.exhausted_until.isoformat(),
        },
    )


def _channel_outage(
    repos: Repositories,
    channel: models.Channel,
    error: str,
    worker: str,
    outages: OutagePolicy,
    now: datetime,
) -> None:
    """Marks the channel down; a new outage streak step lengthens the cooldown."""
    if not channel.available and (
        channel.unavailable_until is None or channel.unavailable_until > now
    ):
        return  # already down: one outage, however many workers report it
    channel.outage_count += 1
    exponent = min(channel.outage_count - 1, 32)
    cooldown = min(outages.cooldown * 2**exponent, outages.max_cooldown)
    channel.available = False
    channel.unavailable_until = now + cooldown
    channel.unavailable_reason = f"outage reported by {worker}: {error}"
    repos.decisions.record(
        DecisionKind.AVAILABILITY_CHANGED,
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
