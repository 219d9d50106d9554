"""Invariants 1 and 2 are enforced by the database itself, whatever the application does."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from persistence import models

SLOT = datetime(2030, 1, 1, 9, tzinfo=UTC)


@pytest.fixture
def db(migrated):
    migrated.transaction(_seed)
    return migrated


def _seed(session):
    session.add(models.Channel(id="c", timezone="UTC", config={}))
    for vid in ("v", "w"):
        session.add(models.Video(id=vid, source_url=f"https://x.test/{vid}"))


def _distribution(video_id="v", *, slot=SLOT, state="SCHEDULED", source=None, override=False):
    return models.Distribution(
        id=str(uuid.uuid4()),
        video_id=video_id,
        channel_id="c",
        source_url=source or f"https://x.test/{video_id}",
        method="MANUAL",
        state=state,
        scheduled_at=slot,
        duplicate_override=override,
    )


def _insert(db, row):
    db.transaction(lambda s: s.add(row))


def test_live_pair_is_unique(db):
    _insert(db, _distribution())
    with pytest.raises(IntegrityError):
        _insert(db, _distribution(slot=SLOT + timedelta(hours=1)))
    _insert(db, _distribution(slot=SLOT + timedelta(hours=2), override=True))  # audited override


def test_live_source_is_unique_per_channel(db):
    _insert(db, _distribution())
    with pytest.raises(IntegrityError):
        _insert(db, _distribution("w", slot=SLOT + timedelta(hours=1), source="https://x.test/v"))


def test_slot_holds_one_live_distribution(db):
    _insert(db, _distribution())
    with pytest.raises(IntegrityError):
        _insert(db, _distribution("w"))


def test_dead_states_free_pair_and_slot(db):
    _insert(db, _distribution(state="CANCELLED"))
    _insert(db, _distribution(state="FAILED"))
    _insert(db, _distribution())


def test_32_concurrent_identical_inserts_leave_one_row(db):
    barrier = threading.Barrier(32)
    outcomes: list[str] = []

    def insert(n):
        barrier.wait()
        try:
            _insert(db, _distribution(slot=SLOT + timedelta(minutes=n)))
            outcomes.append("ok")
        except IntegrityError:
            outcomes.append("refused")

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 31
    count = db.transaction(
        lambda s: s.scalar(select(func.count()).select_from(models.Distribution)), readonly=True
    )
    assert count == 1


def test_times_round_trip_as_aware_utc(db):
    row = _distribution()
    _insert(db, row)
    got = db.transaction(lambda s: s.get(models.Distribution, row.id), readonly=True)
    assert got.scheduled_at == SLOT and got.scheduled_at.tzinfo is not None
