"""Assign: one video onto each requested channel, by hand.

Each channel is judged in request order: duplicate, availability, filters, then a slot.
`force` overrides filters, schedule, availability and quota pools (the next-free-slot search
still passes over full quota windows; an explicit slot in one is overdrawn, and said so);
only `allow_duplicate` overrides duplicate prevention. Every outcome, rejection included, is
a decision written in the same transaction as the distribution it describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from allocator import calendar, filters, scoring
from allocator import domain as d
from persistence import models
from persistence.base import utcnow
from persistence.enums import DecisionKind, DistributionMethod
from persistence.repositories import Repositories
from persistence.repositories.distributions import Duplicate
from server.usecases import lookups
from server.usecases.availability import channel_blockers, video_blockers
from server.usecases.domain_values import channel_to_domain, transformation_json, video_to_domain
from server.usecases.lifecycle import new_distribution
from server.usecases.quotas import QuotaGate, gate_for
from server.usecases.retry_policy import policy_for
from server.usecases.slots import (
    SLOT_SEARCH_HORIZON,
    TakenWindow,
    first_window,
    next_free_slot,
    requested_slot,
)


class Outcome(StrEnum):
    """What Assign did on one channel."""

    ASSIGNED = "ASSIGNED"
    REJECTED_FILTER = "REJECTED_FILTER"
    REJECTED_DUPLICATE = "REJECTED_DUPLICATE"
    REJECTED_UNAVAILABLE = "REJECTED_UNAVAILABLE"
    REJECTED_NO_SLOT = "REJECTED_NO_SLOT"
    REJECTED_QUOTA = "REJECTED_QUOTA"


@dataclass(frozen=True)
class AssignCommand:
    """Assign `video_id` to each of `channel_ids` (at `scheduled_at`, else the next free slot)."""

    video_id: str
    channel_ids: tuple[str, ...]
    force: bool
    allow_duplicate: bool
    scheduled_at: datetime | None
    note: str
    actor: str


@dataclass(frozen=True)
class AssignResult:
    """The outcome on one channel, and the distribution when one was made."""

    channel_id: str
    outcome: Outcome
    reason: str
    failed_filters: tuple[str, ...]
    distribution: models.Distribution | None


@dataclass
class _Verdict:
    """What Assign found for one pair before writing anything."""

    outcome: Outcome
    reason: str
    code: str
    failed_filters: tuple[str, ...] = ()
    overrides: list[str] = field(default_factory=list)
    duplicate_of: str = ""
    slot: datetime | None = None


def assign(repos: Repositories, command: AssignCommand) -> list[AssignResult]:
    """Assigns the video to each requested channel; one result per channel, in request order."""
    now = utcnow()
    video, channels = lookups.video_and_locked_channels(
        repos, command.video_id, command.channel_ids
    )
    return [_assign_one(repos, command, video, channel, now) for channel in channels]


def _assign_one(
    repos: Repositories,
    command: AssignCommand,
    video: models.Video,
    channel: models.Channel,
    now: datetime,
) -> AssignResult:
    dom_video = video_to_domain(video)
    dom_channel = channel_to_domain(channel)
    match = filters.check(dom_video, dom_channel)
    verdict = _judge(repos, command, video, channel, dom_channel.schedule, match, now)
    details: dict[str, Any] = {"code": verdict.code, "note": command.note}
    if verdict.failed_filters:
        details["failed_filters"] = list(verdict.failed_filters)
    if verdict.duplicate_of:
        details["duplicate_of"] = verdict.duplicate_of
    if verdict.outcome is not Outcome.ASSIGNED or verdict.slot is None:
        repos.decisions.record(
            DecisionKind.REJECTED,
            reason=verdict.reason,
            actor=command.actor,
            video_id=video.id,
            channel_id=channel.id,
            method=DistributionMethod.MANUAL,
            details=details,
        )
        return AssignResult(
            channel.id, verdict.outcome, verdict.reason, verdict.failed_filters, None
        )
    breakdown = scoring.score(dom_video, dom_channel, match)
    details["score"] = breakdown.as_dict()
    details["overrides"] = verdict.overrides
    values = new_distribution(
        video_id=video.id,
        channel_id=channel.id,
        source_url=video.source_url,
        method=DistributionMethod.MANUAL,
        scheduled_at=verdict.slot,
        score=breakdown.total,
        reason=verdict.reason,
        details=details,
        transformations=[transformation_json(t) for t in match.transformations],
        max_attempts=policy_for(channel).max_attempts,
        actor=command.actor,
        duplicate_override=bool(verdict.duplicate_of),
        slot_weight=calendar.slot_weights(
            dom_channel.schedule, dom_channel.timezone, [verdict.slot]
        )[0],
    )
    decision = repos.decisions.values_for(
        values,
        DecisionKind.OVERRIDE if verdict.overrides else DecisionKind.ASSIGNED,
        reason=verdict.reason,
        actor=command.actor,
        details=details,
    )
    distribution = repos.distributions.add(values, decision)
    return AssignResult(
        channel.id, verdict.outcome, verdict.reason, verdict.failed_filters, distribution
    )


def _judge(
    repos: Repositories,
    command: AssignCommand,
    video: models.Video,
    channel: models.Channel,
    schedule: d.PostingSchedule,
    match: filters.Match,
    now: datetime,
) -> _Verdict:
    overrides: list[str] = []
    duplicate, known = _duplicate_and_taken(repos, command, video, channel, now)
    if duplicate is not None:
        what = "video" if duplicate.video_id == video.id else "source URL"
        text = f"{what} already live on {channel.id} as distribution {duplicate.id}"
        if not command.allow_duplicate:
            return _Verdict(
                Outcome.REJECTED_DUPLICATE, text, "DUPLICATE", duplicate_of=duplicate.id
            )
        overrides.append(f"duplicate: {text}")
    blockers = channel_blockers(channel, now) + video_blockers(video, now)
    if blockers:
        if not command.force:
            return _Verdict(Outcome.REJECTED_UNAVAILABLE, "; ".join(blockers), "UNAVAILABLE")
        overrides.extend(f"availability: {b}" for b in blockers)
    if not match.eligible:
        text = "fails channel filters: " + ", ".join(match.failed_filters)
        if not command.force:
            return _Verdict(
                Outcome.REJECTED_FILTER, text, "FILTER", failed_filters=match.failed_filters
            )
        overrides.append(f"filters: {text}")
    gate = gate_for(repos.quotas, channel)
    slot, slot_problem = _slot(repos, channel, schedule, command, now, known, gate)
    if slot is None:
        return _Verdict(Outcome.REJECTED_NO_SLOT, slot_problem, "NO_SLOT")
    if slot_problem:
        overrides.append(f"schedule: {slot_problem}")
    # Only an explicit slot can land in a full window: the search passed over them.
    full = gate.problems(slot) if gate is not None and command.scheduled_at is not None else []
    text = "; ".join(why for _, why in full)
    if full and not command.force:
        return _Verdict(Outcome.REJECTED_QUOTA, f"slot {slot.isoformat()}: {text}", "QUOTA")
    if full:
        overrides.append(f"quota: overdrew {text}")
    how = "assigned by hand"
    if overrides:
        how += " (override: " + ", ".join(o.split(":", 1)[0] for o in overrides) + ")"
    overdrew = "; overdrew quota pool " + ", ".join(pid for pid, _ in full) if full else ""
    return _Verdict(
        Outcome.ASSIGNED,
        f"{how} to {channel.id} at {slot.isoformat()}{overdrew}",
        "OVERRIDE" if overrides else "MANUAL",
        overrides=overrides,
        duplicate_of=duplicate.id if duplicate is not None else "",
        slot=slot,
    )


def _duplicate_and_taken(
    repos: Repositories,
    command: AssignCommand,
    video: models.Video,
    channel: models.Channel,
    now: datetime,
) -> tuple[Duplicate | None, TakenWindow | None]:
    """The live duplicate, and (for a next-free-slot search) the first window of taken slots,
    read in one round trip: the window is cheap and most calls get that far."""
    if command.scheduled_at is not None:
        return repos.distributions.live_duplicate(video.id, video.source_url, channel.id), None
    start, end = first_window(now)
    duplicate, keys = repos.distributions.duplicate_and_taken(
        video.id, video.source_url, channel.id, start, end
    )
    return duplicate, TakenWindow(start, end, keys)


def _slot(
    repos: Repositories,
    channel: models.Channel,
    schedule: d.PostingSchedule,
    command: AssignCommand,
    now: datetime,
    known: TakenWindow | None,
    gate: QuotaGate | None,
) -> tuple[datetime | None, str]:
    """(slot, note): the slot to use, or None and why not; a note marks an off-schedule slot.
    The next-free-slot search passes over the slots whose quota window is full."""
    if command.scheduled_at is None:
        fits = gate.fits if gate is not None else None
        slot = next_free_slot(repos.distributions, channel, schedule, now, known, fits)
        if slot is None:
            text = f"no free slot on {channel.id} in the next {SLOT_SEARCH_HORIZON.days} days"
            if gate is not None:
                text += " within its quota pools (" + ", ".join(p.id for p in gate.pools) + ")"
            return None, text
        return slot, ""
    requested = command.scheduled_at.replace(microsecond=0)
    usable, problem = requested_slot(repos.distributions, channel, schedule, requested)
    if not usable or (problem and not command.force):
        return None, problem
    return requested, problem
