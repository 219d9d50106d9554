"""Retry policies: a channel's RetryPolicy with the server's defaults for unset fields, and the
backoff it gives (exponential, capped, with full jitter in its upper half)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from persistence import models

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_INITIAL_BACKOFF = timedelta(seconds=60)
DEFAULT_MAX_BACKOFF = timedelta(hours=1)
DEFAULT_MULTIPLIER = 2.0


@dataclass(frozen=True)
class EffectivePolicy:
    """A retry policy with every field set."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial_backoff: timedelta = DEFAULT_INITIAL_BACKOFF
    max_backoff: timedelta = DEFAULT_MAX_BACKOFF
    multiplier: float = DEFAULT_MULTIPLIER

    def backoff(self, failures: int, rng: random.Random | None = None) -> timedelta:
        """The wait after the `failures`-th failed attempt (1-based).

        initial * multiplier^(failures-1), capped at max_backoff, then jittered uniformly into
        [half, full] of it so that workers failing together do not retry together.
        """
        # The exponent is capped so that the float cannot overflow for absurd attempt counts.
        growth = self.multiplier ** min(max(0, failures - 1), 64)
        base = self.initial_backoff.total_seconds() * growth
        capped = min(base, self.max_backoff.total_seconds())
        jitter = (rng or random).uniform(0.5, 1.0)
        return timedelta(seconds=capped * jitter)


def stored_duration(duration: object) -> timedelta | None:
    """A Duration stored as the API's JSON ("1.5s") as a timedelta, None when absent."""
    if not isinstance(duration, str) or not duration.endswith("s"):
        return None
    return timedelta(seconds=float(duration[:-1]))


def policy_for(channel: models.Channel) -> EffectivePolicy:
    """The channel's retry policy, server defaults where unset."""
    stored = channel.config.get("retry_policy") or {}
    initial = stored_duration(stored.get("initial_backoff"))
    longest = stored_duration(stored.get("max_backoff"))
    return EffectivePolicy(
        max_attempts=int(stored.get("max_attempts") or DEFAULT_MAX_ATTEMPTS),
        # An explicit "0s" is a real setting (retry at once), unlike an absent field.
        initial_backoff=DEFAULT_INITIAL_BACKOFF if initial is None else initial,
        max_backoff=DEFAULT_MAX_BACKOFF if longest is None else longest,
        multiplier=float(stored.get("backoff_multiplier") or DEFAULT_MULTIPLIER),
    )
