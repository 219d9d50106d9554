"""The audit trail: one decision row per state change, written in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from persistence import models


def record(
    session: Session,
    kind: str,
    *,
    reason: str,
    actor: str,
    video_id: str | None = None,
    channel_id: str | None = None,
    distribution_id: str | None = None,
    method: str | None = None,
    run_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> models.Decision:
    """Adds a decision of `kind` (a DecisionKind short name such as 'ASSIGNED') to the session.

    It commits with the state change it describes or not at all (invariant 3).
    """
    decision = models.Decision(
        kind=kind,
        reason=reason,
        actor=actor,
        video_id=video_id,
        channel_id=channel_id,
        distribution_id=distribution_id,
        method=method,
        run_id=run_id,
        details=details or {},
    )
    session.add(decision)
    return decision


def record_for(
    session: Session,
    distribution: models.Distribution,
    kind: str,
    *,
    reason: str,
    actor: str,
    details: dict[str, Any] | None = None,
) -> models.Decision:
    """Adds a decision about `distribution` (its video, channel, method and run)."""
    return record(
        session,
        kind,
        reason=reason,
        actor=actor,
        video_id=distribution.video_id,
        channel_id=distribution.channel_id,
        distribution_id=distribution.id,
        method=distribution.method,
        run_id=distribution.run_id,
        details=details,
    )
