"""persistence.instants: a channel's taken instants read back as one aggregated value give the
same instants, microseconds included, on both databases, and the keys the slot search uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.free_slot import instant_key, key_instant
from persistence import models
from persistence.enums import DistributionMethod, DistributionState
from persistence.repositories import DistributionRepository

START = datetime(1999, 12, 31, tzinfo=UTC)
END = datetime(2101, 1, 1, tzinfo=UTC)


@pytest.fixture
def db(migrated):
    def seed(session):
        session.add(models.Channel(id="c", timezone="UTC", config={}))
        for i in range(300):
            session.add(models.Video(id=f"v{i}", source_url=f"https://x.test/v{i}"))

    migrated.transaction(seed)
    return migrated


def _replace_taken(session, instants: list[datetime], state: DistributionState) -> None:
    session.query(models.Distribution).delete()
    for i, at in enumerate(instants):
        session.add(
            models.Distribution(
                id=str(uuid.uuid4()),
                video_id=f"v{i}",
                channel_id="c",
                source_url=f"https://x.test/v{i}",
                method=DistributionMethod.MANUAL,
                state=state,
                scheduled_at=at,
                score=1,
                reason="test",
                details={},
                transformations=[],
                max_attempts=1,
                actor="t",
            )
        )


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(instants, max_size=30, unique=True))
def test_taken_instants_round_trip(db, taken: list[datetime]) -> None:
    db.transaction(lambda s: _replace_taken(s, taken, DistributionState.SCHEDULED))

    def read(session):
        distributions = DistributionRepository(session)
        return distributions.taken_times("c", START, END), distributions.taken_keys("c", START, END)

    times, keys = db.transaction(read)
    assert sorted(times) == sorted(taken)
    assert sorted(keys) == sorted(instant_key(t) for t in taken)
    assert [key_instant(k) for k in sorted(keys)] == sorted(taken)


def test_many_instants_and_the_window_bounds(db) -> None:
    base = datetime(2030, 3, 30, 22, 0, 0, 123456, tzinfo=UTC)
    taken = [base + timedelta(hours=h) for h in range(300)]
    db.transaction(lambda s: _replace_taken(s, taken, DistributionState.SCHEDULED))

    def read(session):
        distributions = DistributionRepository(session)
        return (
            distributions.taken_keys("c", taken[10], taken[20]),
            distributions.taken_keys("c", END, END + timedelta(days=1)),
        )

    inside, none = db.transaction(read)
    assert sorted(inside) == [instant_key(t) for t in taken[10:20]]
    assert none == []


def test_cancelled_rows_hold_nothing(db) -> None:
    db.transaction(
        lambda s: _replace_taken(s, [START + timedelta(days=1)], DistributionState.CANCELLED)
    )
    assert db.transaction(lambda s: DistributionRepository(s).taken_keys("c", START, END)) == []
