import random
from datetime import timedelta

from server.usecases.retry_policy import EffectivePolicy


def test_backoff_grows_exponentially_is_capped_and_jittered():
    policy = EffectivePolicy(
        initial_backoff=timedelta(seconds=10), max_backoff=timedelta(seconds=100), multiplier=2
    )
    rng = random.Random(1)
    for failures, full in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        wait = policy.backoff(failures, rng).total_seconds()
        assert full / 2 <= wait <= full
