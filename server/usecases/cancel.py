"""CancelDistribution: withdraw a distribution that is not yet being published."""

from __future__ import annotations

from dataclasses import dataclass

from persistence import models
from persistence.enums import DecisionKind
from persistence.repositories import Repositories
from server.usecases import lookups
from server.usecases.errors import FailedPrecondition
from server.usecases.lifecycle import Event, allowed, apply, states_allowing


@dataclass(frozen=True)
class CancelCommand:
    """Cancel distribution `id`, with an optional reason."""

    id: str
    reason: str
    actor: str


def cancel(repos: Repositories, command: CancelCommand) -> models.Distribution:
    """Cancels the distribution, which frees its slot and its (video, channel) pair."""
    row = lookups.distribution(repos, command.id, lock=True)
    if not allowed(row.state, Event.CANCEL):
        cancellable = " or ".join(states_allowing(Event.CANCEL))
        raise FailedPrecondition(
            f"distribution {row.id} is {row.state}; only {cancellable} ones can be cancelled",
            metadata={"state": row.state},
        )
    apply(row, Event.CANCEL)
    row.lease_token = None
    repos.decisions.record_for(
        row,
        DecisionKind.CANCELLED,
        reason=command.reason or "cancelled by an operator",
        actor=command.actor,
        details={"code": "CANCELLED", "slot": row.scheduled_at.isoformat()},
    )
    repos.flush()
    return row
