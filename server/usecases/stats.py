"""Statistics, counted by the database (never by loading rows).

Scope: distributions whose scheduled time lies in [start, end), optionally on some channels.
Rates:
- success_rate = published / (published + failed), over distributions in a final state;
- error_rate = failed upload reports / all upload reports (a report is a PUBLISHED,
  RETRY_SCHEDULED or GAVE_UP decision of a distribution in scope; an expired lease is no
  report: its outcome is unknown);
- retries = automatic retries scheduled + operator retries (RETRY_SCHEDULED + RETRIED).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from persistence.base import utcnow
from persistence.enums import DecisionKind, DistributionState
from persistence.repositories import Repositories
from server.usecases import lookups

K = DecisionKind
_REPORT_KINDS = (K.PUBLISHED, K.RETRY_SCHEDULED, K.GAVE_UP)
_ERROR_KINDS = (K.RETRY_SCHEDULED, K.GAVE_UP)
_RETRY_KINDS = (K.RETRY_SCHEDULED, K.RETRIED)


@dataclass(frozen=True)
class StatsQuery:
    """The scope of a statistics call (empty channel list: every channel)."""

    channel_ids: tuple[str, ...]
    start: datetime | None
    end: datetime | None


@dataclass
class Counts:
    """Distribution counts of one scope: in all, by state and by method."""

    total: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    by_method: Counter[str] = field(default_factory=Counter)

    @property
    def published(self) -> int:
        """Distributions published."""
        return self.by_state[DistributionState.PUBLISHED]

    @property
    def failed(self) -> int:
        """Distributions given up on."""
        return self.by_state[DistributionState.FAILED]

    @property
    def success_rate(self) -> float:
        """published / (published + failed)."""
        return _rate(self.published, self.published + self.failed)

    def add(self, state: str, method: str, count: int) -> None:
        """Counts `count` distributions of `state` and `method`."""
        self.total += count
        self.by_state[state] += count
        self.by_method[method] += count


@dataclass
class StatsResult:
    """Counts overall and per channel (in channel id order), rates and retries."""

    overall: Counts
    channels: dict[str, Counts]
    error_rate: float
    retries: int
    due_now: int
    oldest_due_seconds: float


def stats(repos: Repositories, query: StatsQuery) -> StatsResult:
    """Totals, by state and method, rates and retries, overall and per channel; NotFound for
    a channel that does not exist (as every other method answers)."""
    lookups.channels(repos, query.channel_ids)
    scope = (query.channel_ids, query.start, query.end)
    overall = Counts()
    channels: dict[str, Counts] = {}
    for channel_id, state, method, count in repos.distributions.counts(*scope):
        overall.add(state, method, count)
        channels.setdefault(channel_id, Counts()).add(state, method, count)
    by_kind = repos.decisions.kind_counts((*_REPORT_KINDS, K.RETRIED), *scope)
    all_reports = sum(by_kind.get(k, 0) for k in _REPORT_KINDS)
    due, oldest = repos.metrics.publications_due(utcnow(), query.channel_ids)
    return StatsResult(
        overall=overall,
        channels=dict(sorted(channels.items())),
        error_rate=_rate(sum(by_kind.get(k, 0) for k in _ERROR_KINDS), all_reports),
        retries=sum(by_kind.get(k, 0) for k in _RETRY_KINDS),
        due_now=due,
        oldest_due_seconds=oldest,
    )


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
