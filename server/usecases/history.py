"""History: distributions, the audit trail and past runs, one at a time or a page at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from persistence import models
from persistence.repositories import Page, Repositories
from server.usecases import lookups
from server.usecases.errors import NotFound


def get_distribution(repos: Repositories, distribution_id: str) -> models.Distribution:
    """One distribution."""
    return lookups.distribution(repos, distribution_id)


def list_distributions(
    repos: Repositories, equal: Mapping[str, Any], after: Sequence[Any] | None, size: int
) -> Page[models.Distribution]:
    """Distributions whose fields equal `equal`, oldest first, after (create_time, id)."""
    return repos.distributions.page(equal, after, size)


def list_decisions(
    repos: Repositories, equal: Mapping[str, Any], after: Sequence[Any] | None, size: int
) -> Page[models.Decision]:
    """Decisions whose fields equal `equal`, newest first, after (time, id)."""
    return repos.decisions.page(equal, after, size)


def get_run(repos: Repositories, run_id: str) -> models.Run:
    """One AutoDistribute run."""
    row = repos.runs.get(run_id)
    if row is None:
        raise NotFound("run", run_id, field="run_id")
    return row


def list_runs(repos: Repositories, after: Sequence[Any] | None, size: int) -> Page[models.Run]:
    """AutoDistribute runs, newest first, after (create_time, id)."""
    return repos.runs.page(after, size)
