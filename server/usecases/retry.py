"""Retry: an operator puts FAILED distributions back in the publishing queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from persistence import models
from persistence.base import utcnow
from persistence.enums import DecisionKind
from persistence.repositories import Repositories
from server.usecases.domain_values import schedule_of
from server.usecases.lifecycle import Event, allowed, apply
from server.usecases.quotas import gate_for
from server.usecases.slots import next_free_slot


@dataclass(frozen=True)
class RetryCommand:
    """Retry the distributions of `distribution_ids`, or every FAILED one (of `channel_id`)."""

    distribution_ids: tuple[str, ...]
    channel_id: str
    reset_attempts: bool
    actor: str


@dataclass
class RetryResult:
    """The distributions put back, and (id, why not) for the others."""

    retried: list[models.Distribution] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def retry(repos: Repositories, command: RetryCommand) -> RetryResult:
    """Requeues each selected distribution that is FAILED; see `_retry_one` for the slot rule."""
    now = utcnow()
    rows = repos.distributions.lock_for_retry(command.distribution_ids, command.channel_id)
    repos.channels.lock({r.channel_id for r in rows.values()})
    result = RetryResult()
    for distribution_id in command.distribution_ids or list(rows):
        row = rows.get(distribution_id)
        if row is None:
            result.skipped.append((distribution_id, "not found"))
            continue
        problem = _retry_one(repos, row, command, now)
        if problem:
            result.skipped.append((row.id, problem))
        else:
            result.retried.append(row)
    return result


def _retry_one(
    repos: Repositories, row: models.Distribution, command: RetryCommand, now: datetime
) -> str:
    """Requeues one FAILED distribution; returns why not, or '' when done.

    Slot rule: it keeps its own slot when that instant is still free and its quota windows
    have room, so a past slot makes it due at once; otherwise it moves to the channel's next
    free slot that fits its quota pools.
    """
    if not allowed(row.state, Event.OPERATOR_RETRY):
        return f"state is {row.state}, not FAILED"
    video = repos.videos.get(row.video_id)
    duplicate = (
        repos.distributions.live_duplicate(video.id, video.source_url, row.channel_id)
        if video
        else None
    )
    if duplicate is not None and not row.duplicate_override:
        return f"a live distribution {duplicate.id} of this video or source is on the channel"
    channel = repos.channels.get(row.channel_id)
    slot_taken = repos.distributions.slot_holder(row.channel_id, row.scheduled_at)
    old_slot = row.scheduled_at
    gate = gate_for(repos.quotas, channel, exclude=row.id) if channel else None
    quota_full = gate is not None and slot_taken is None and not gate.fits(old_slot)
    if (slot_taken is not None or quota_full) and channel is not None:
        fits = gate.fits if gate is not None else None
        slot = next_free_slot(repos.distributions, channel, schedule_of(channel), now, fits=fits)
        if slot is None:
            why = "its quota window is full" if quota_full else "its slot was taken"
            return f"{why} and the channel has no free slot"
        row.scheduled_at = slot
    if command.reset_attempts:
        row.attempts = 0
    # Without a reset, an operator's retry grants at least one more attempt.
    row.max_attempts = max(row.max_attempts, row.attempts + 1)
    apply(row, Event.OPERATOR_RETRY)
    row.next_attempt_at = None
    row.lease_token = None
    details: dict[str, Any] = {
        "code": "RETRIED",
        "reset_attempts": command.reset_attempts,
        "attempts": row.attempts,
        "previous_error": row.last_error,
        "slot": row.scheduled_at.isoformat(),
        "previous_slot": old_slot.isoformat(),
    }
    repos.decisions.record_for(
        row,
        DecisionKind.RETRIED,
        reason=f"retried by {command.actor}; due {row.scheduled_at.isoformat()}",
        actor=command.actor,
        details=details,
    )
    repos.flush()
    return ""
