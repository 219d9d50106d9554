"""Missed slots: a SCHEDULED publication that no worker leased within its channel's grace after
its slot is handled once, by whichever replica gets there first, as the channel's
MissedSlotPolicy says:

- REPLAN (default): moved to the channel's next free slot from now (or from the end of its
  outage) whose quota windows have room, decision MISSED_SLOT_REPLANNED; with no such slot in
  the search horizon, cancelled;
- CANCEL: cancelled, decision MISSED_SLOT_CANCELLED;
- PUBLISH_LATE: kept at its slot and released late (next_attempt_at), decision
  MISSED_SLOT_LATE: each late publication of a channel one slot interval of its schedule
  after the one before.

So a channel's backlog after an outage never bursts: replanned publications take free slots
one after the other, late ones go out one interval apart. A channel down until further notice
keeps its missed publications (REPLAN, PUBLISH_LATE) until it returns.

The background sweep (`sweep`, every replica, SKIP LOCKED) and the lease path (`split_missed`,
so that a worker never receives a publication past its grace) share the handling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from persistence import models
from persistence.base import utcnow
from persistence.enums import DecisionKind, DistributionState
from persistence.repositories import Repositories
from server.usecases.availability import available_now
from server.usecases.domain_values import schedule_of
from server.usecases.lifecycle import Event, apply
from server.usecases.quotas import gate_for
from server.usecases.retry_policy import stored_duration
from server.usecases.slots import SLOT_SEARCH_HORIZON, next_free_slot

DEFAULT_GRACE = timedelta(hours=1)
REPLAN = "MISSED_SLOT_ACTION_REPLAN"
CANCEL = "MISSED_SLOT_ACTION_CANCEL"
PUBLISH_LATE = "MISSED_SLOT_ACTION_PUBLISH_LATE"
#: Publications one sweep handles at most (the next sweep takes the rest).
SWEEP_LIMIT = 500
ACTOR = "vdist-missed-slots"


@dataclass(frozen=True)
class MissedSlotPolicy:
    """A channel's missed-slot policy with the server's defaults."""

    grace: timedelta = DEFAULT_GRACE
    action: str = REPLAN


def policy_of(channel: models.Channel) -> MissedSlotPolicy:
    """The channel's policy: grace 1 h and REPLAN where unset."""
    stored = channel.config.get("missed_slot_policy") or {}
    grace = stored_duration(stored.get("grace"))
    action = stored.get("action") or REPLAN
    return MissedSlotPolicy(
        grace=DEFAULT_GRACE if grace is None else grace,
        action=REPLAN if action == "MISSED_SLOT_ACTION_UNSPECIFIED" else action,
    )


def is_missed(row: models.Distribution, policy: MissedSlotPolicy, now: datetime) -> bool:
    """SCHEDULED, never leased or retried, and more than the grace past its slot."""
    return (
        row.state is DistributionState.SCHEDULED
        and row.lease_token is None
        and row.next_attempt_at is None
        and row.scheduled_at < now - policy.grace
    )


def sweep(repos: Repositories, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Handles the missed publications this replica could lock; how many it handled."""
    now = now or utcnow()
    rows = repos.missed.claim_past(now, limit)
    channels = repos.channels.by_ids({row.channel_id for row in rows})
    return len(handle(repos, [r for r in rows if _missed(r, channels, now)], channels, now))


def split_missed(
    repos: Repositories, rows: Sequence[models.Distribution], now: datetime, actor: str
) -> list[models.Distribution]:
    """The rows a lease may hand out; the missed ones among them are handled instead."""
    past = [r for r in rows if r.next_attempt_at is None and r.scheduled_at < now]
    if not past:
        return list(rows)
    channels = repos.channels.by_ids({row.channel_id for row in past})
    missed = {r.id for r in past if _missed(r, channels, now)}
    handle(repos, [r for r in past if r.id in missed], channels, now, actor)
    return [r for r in rows if r.id not in missed]


def _missed(
    row: models.Distribution, channels: Mapping[str, models.Channel], now: datetime
) -> bool:
    channel = channels.get(row.channel_id)
    return channel is not None and is_missed(row, policy_of(channel), now)


def handle(
    repos: Repositories,
    rows: Sequence[models.Distribution],
    channels: Mapping[str, models.Channel],
    now: datetime,
    actor: str = ACTOR,
) -> list[models.Distribution]:
    """Applies each missed row's channel policy, oldest slot first; the rows it changed."""
    changed = []
    late_after: dict[str, datetime] = {}
    for row in sorted(rows, key=lambda r: (r.scheduled_at, r.id)):
        channel = channels[row.channel_id]
        policy = policy_of(channel)
        missed_at = row.scheduled_at
        back = now if available_now(channel, now) else channel.unavailable_until
        details = {"missed_slot": missed_at.isoformat(), "grace": str(policy.grace)}
        if policy.action == CANCEL:
            _cancel(repos, row, f"missed its slot {missed_at.isoformat()}", actor, details)
        elif back is None:
            continue  # down until further notice: decided when the channel returns
        elif policy.action == PUBLISH_LATE:
            release = _late_release(repos, channel, back, now, late_after)
            row.next_attempt_at = release
            repos.decisions.record_for(
                row,
                DecisionKind.MISSED_SLOT_LATE,
                reason=f"missed its slot {missed_at.isoformat()}; released late at "
                f"{release.isoformat()}",
                actor=actor,
                details={**details, "code": "MISSED_SLOT_LATE", "release": release.isoformat()},
            )
        else:
            # The move must not overdraw a quota pool: full windows are passed over, and the
            # distribution itself (still at its old slot) is not counted.
            gate = gate_for(repos.quotas, channel, exclude=row.id)
            fits = gate.fits if gate is not None else None
            schedule = schedule_of(channel)
            slot = next_free_slot(repos.distributions, channel, schedule, back, fits=fits)
            if slot is None:
                reason = f"missed its slot {missed_at.isoformat()}; no free slot within "
                _cancel(repos, row, reason + f"{SLOT_SEARCH_HORIZON.days} days", actor, details)
            else:
                row.scheduled_at = slot
                repos.decisions.record_for(
                    row,
                    DecisionKind.MISSED_SLOT_REPLANNED,
                    reason=f"missed its slot {missed_at.isoformat()}; moved to "
                    f"{slot.isoformat()}, the next free slot of {channel.id}",
                    actor=actor,
                    details={**details, "code": "MISSED_SLOT_REPLANNED", "to": slot.isoformat()},
                )
        # The next one's slot search must see this one's new slot.
        repos.flush()
        changed.append(row)
    return changed


def _cancel(
    repos: Repositories,
    row: models.Distribution,
    reason: str,
    actor: str,
    details: dict[str, str],
) -> None:
    apply(row, Event.CANCEL)
    repos.decisions.record_for(
        row,
        DecisionKind.MISSED_SLOT_CANCELLED,
        reason=reason,
        actor=actor,
        details={**details, "code": "MISSED_SLOT_CANCELLED"},
    )


def _late_release(
    repos: Repositories,
    channel: models.Channel,
    back: datetime,
    now: datetime,
    late_after: dict[str, datetime],
) -> datetime:
    """One slot interval after the channel's last late release (or at `back`)."""
    last = late_after.get(channel.id) or repos.missed.last_late_release(channel.id, now)
    release = back if last is None else max(back, last + slot_interval(channel))
    late_after[channel.id] = release
    return release


def slot_interval(channel: models.Channel) -> timedelta:
    """The schedule's mean time between posts: a week over its weekly slots (a day if none)."""
    weekly = sum(len(s.days) for s in schedule_of(channel).slots)
    return timedelta(days=7) / weekly if weekly else timedelta(days=1)
