"""Quota pools as the writers of live distributions see them: does a slot fit every pool of a
channel, and when is a pool the platform reported full free again.

A check locks the pool's window rows first (`QuotaRepository.lock_windows`) and counts after,
in the transaction that then inserts or moves the distribution, so two replicas never both
take the last place of a window. The window arithmetic is `allocator.quota_windows`.
"""

from __future__ import annotations

from datetime import datetime

from allocator import quota_windows as qw
from persistence import models
from persistence.enums import DistributionState
from persistence.repositories import QuotaRepository

#: The states whose publications used (or are using) the platform's quota.
_UPLOADED = (DistributionState.PUBLISHED, DistributionState.PUBLISHING)


def describe(pool: models.QuotaPool) -> str:
    """'pool-id (3 per CALENDAR_DAY in America/Los_Angeles)'."""
    where = f" in {pool.timezone or 'UTC'}" if pool.window == "CALENDAR_DAY" else ""
    return f"{pool.id} ({pool.limit} per {pool.window}{where})"


class QuotaGate:
    """The quota pools of one channel, checked (and their windows locked) per placement."""

    def __init__(
        self, quotas: QuotaRepository, pools: list[models.QuotaPool], exclude: str | None = None
    ) -> None:
        self._quotas = quotas
        self._pools = pools
        self._exclude = exclude
        # Calendar windows found full stay full in this transaction: their lock is held.
        self._full: dict[tuple[str, datetime], str] = {}

    @property
    def pools(self) -> list[models.QuotaPool]:
        """The channel's pools, in its quota_pool_ids order."""
        return self._pools

    def problems(self, t: datetime) -> list[tuple[str, str]]:
        """(pool id, why) of each pool a placement at `t` would overdraw ([]: it fits)."""
        found = ((pool.id, self._problem(pool, t)) for pool in self._pools)
        return [(pool_id, text) for pool_id, text in found if text]

    def fits(self, t: datetime) -> bool:
        """Whether a placement at `t` keeps every pool within its limit."""
        return not self.problems(t)

    def _problem(self, pool: models.QuotaPool, t: datetime) -> str:
        kind, tz = str(pool.window), pool.timezone or "UTC"
        if pool.exhausted_until is not None and t < pool.exhausted_until:
            return (
                f"quota pool {describe(pool)} is exhausted until {pool.exhausted_until.isoformat()}"
            )
        keys = qw.lock_keys(kind, tz, t)
        known = self._full.get((pool.id, keys[0])) if kind == qw.CALENDAR_DAY else None
        if known is not None:
            return known
        self._quotas.lock_windows(pool.id, keys)
        lo, hi = qw.count_span(kind, tz, t)
        times = self._quotas.live_times(pool.id, lo, hi, self._exclude)
        peak = qw.peak_with(kind, tz, times, t)
        if peak <= pool.limit:
            return ""
        if kind == qw.CALENDAR_DAY:
            text = (
                f"quota pool {describe(pool)} would hold {peak}/{pool.limit} in the window "
                f"{lo.isoformat()}..{hi.isoformat()}"
            )
            self._full[(pool.id, keys[0])] = text
            return text
        return f"quota pool {describe(pool)} would hold {peak}/{pool.limit} within 24 hours"


def gate_for(
    quotas: QuotaRepository, channel: models.Channel, exclude: str | None = None
) -> QuotaGate | None:
    """The gate of the channel's pools, or None when it names none (nothing to check: no
    statement either when its links were loaded with it)."""
    if not channel.quota_links:
        return None
    return QuotaGate(quotas, quotas.pools_of(channel.id), exclude)


def reset_of(
    quotas: QuotaRepository, pool: models.QuotaPool, now: datetime, exclude: str
) -> datetime:
    """When the pool, reported full at `now`, has room again (`quota_windows.reset_after`).

    A rolling window counts what used the platform's quota: the uploads made or under way
    (PUBLISHED, PUBLISHING), not the refused distribution `exclude` nor what waits its turn.
    """
    kind, tz = str(pool.window), pool.timezone or "UTC"
    times = (
        quotas.live_times(pool.id, now - qw.DAY, now, exclude, _UPLOADED)
        if kind == qw.ROLLING_24H
        else []
    )
    return qw.reset_after(kind, tz, pool.limit, times, now)
