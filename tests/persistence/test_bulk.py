"""persistence.bulk stores exactly what the ORM's insert stores, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Text, cast, insert, select
from sqlalchemy.exc import IntegrityError

from persistence import bulk, models
from persistence.enums import DecisionKind, DistributionMethod, DistributionState
from persistence.paired_insert import insert_with_decision

SLOT = datetime(2030, 1, 1, 9, tzinfo=UTC)
AWARE_ELSEWHERE = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=5)))
TRICKY = 'tab\there, newline\nthere, back\\slash, quote " and unicode é 日本 \u2028'


@pytest.fixture
def db(migrated):
    migrated.transaction(_seed)
    return migrated


def _seed(session):
    session.add(models.Channel(id="c", timezone="UTC", config={}))
    for vid in ("v0", "v1", "v2", "v3"):
        session.add(models.Video(id=vid, source_url=f"https://x.test/{vid}"))


def _distribution(i: int, prefix: str) -> dict:
    return {
        "id": f"{prefix}-{uuid.uuid4()}"[:36],
        "video_id": f"v{i}",
        "channel_id": "c",
        "source_url": f"https://x.test/v{i}",
        "method": DistributionMethod.AUTO_FILTER,
        "state": DistributionState.SCHEDULED,
        "scheduled_at": SLOT + timedelta(hours=i) if i else AWARE_ELSEWHERE,
        "score": 2**40 + i,
        "reason": TRICKY,
        "details": {"code": "AUTO", "score": {"tags": 1.5, "n": [1, None, True]}, "é": TRICKY},
        "transformations": [{"kind": "TRANSFORMATION_KIND_TRIM", "trim_seconds": 60}] if i else [],
        "attempts": 0,
        "max_attempts": 5,
        "next_attempt_at": None,
        "last_error": "",
        "unconfirmed": bool(i % 2),
        "external_id": "",
        "external_url": "",
        "run_id": None if i == 2 else "run-1",
        "actor": "tester",
        "duplicate_override": False,
        "create_time": AWARE_ELSEWHERE,
        "update_time": SLOT,
    }


def _decision(i: int, tag: str) -> dict:
    # No `time`, no `id`: the model's default and the key's sequence fill them, as in the run.
    return {
        "kind": DecisionKind.ASSIGNED if i else DecisionKind.SKIPPED,
        "reason": f"{tag} {TRICKY}",
        "video_id": f"v{i}",
        "channel_id": None if i == 0 else "c",
        "distribution_id": None,
        "details": {"code": "AUTO", "tag": tag, "nested": {"x": [i, 0.25]}},
        "actor": "tester",
        "method": DistributionMethod.AUTO_SCHEDULE if i else None,
        "run_id": tag,
    }


def _stored_text(session, model, where):
    """Every column as the database's text, so encodings (not only values) are compared."""
    table = model.__table__
    columns = [cast(c, Text).label(c.name) for c in table.columns]
    return [dict(r._mapping) for r in session.execute(select(*columns).where(where))]


def _read_back(session, model, where):
    return [
        {c.name: getattr(row, c.name) for c in model.__table__.columns}
        for row in session.scalars(select(model).where(where))
    ]


def test_distributions_read_back_as_the_orm_stores_them(db):
    # Two copies on separate channels-worth of videos would collide; use separate rows and
    # compare everything but the id.
    orm_rows = [_distribution(i, "orm") for i in (0, 1)]
    bulk_rows = [
        {**r, "id": r["id"].replace("orm", "blk"), "video_id": f"v{i + 2}"}
        for i, r in zip((0, 1), orm_rows, strict=True)
    ]
    for r, i in zip(bulk_rows, (0, 1), strict=True):
        r["scheduled_at"] = orm_rows[i]["scheduled_at"] + timedelta(days=1)
        r["source_url"] = f"https://x.test/v{i + 2}"
    db.transaction(lambda s: s.execute(insert(models.Distribution), orm_rows))
    db.transaction(lambda s: bulk.insert(s, models.Distribution, bulk_rows))

    def compare(session):
        D = models.Distribution
        for reader in (_read_back, _stored_text):
            orm = reader(session, D, D.id.like("orm%"))
            new = reader(session, D, D.id.like("blk%"))
            assert len(orm) == len(new) == 2
            for a, b in zip(
                sorted(orm, key=lambda r: r["source_url"]),
                sorted(new, key=lambda r: r["source_url"]),
                strict=True,
            ):
                differ = {"id", "video_id", "source_url", "scheduled_at"}
                assert {k: v for k, v in a.items() if k not in differ} == {
                    k: v for k, v in b.items() if k not in differ
                }
        rows = _read_back(session, D, D.id.like("blk%"))
        assert {r["scheduled_at"] for r in rows} == {
            AWARE_ELSEWHERE + timedelta(days=1),
            SLOT + timedelta(hours=1, days=1),
        }
        assert all(r["create_time"] == AWARE_ELSEWHERE for r in rows)
        assert all(isinstance(r["state"], DistributionState) for r in rows)

    db.transaction(compare)


def test_decisions_read_back_as_the_orm_stores_them_defaults_included(db):
    db.transaction(
        lambda s: s.execute(insert(models.Decision), [_decision(i, "orm") for i in (0, 1)])
    )
    db.transaction(lambda s: bulk.insert(s, models.Decision, [_decision(i, "blk") for i in (0, 1)]))

    def compare(session):
        Dec = models.Decision
        for reader in (_read_back, _stored_text):
            orm = sorted(reader(session, Dec, Dec.run_id == "orm"), key=lambda r: r["video_id"])
            new = sorted(reader(session, Dec, Dec.run_id == "blk"), key=lambda r: r["video_id"])
            assert len(orm) == len(new) == 2
            for a, b in zip(orm, new, strict=True):
                ignore = {"id", "time", "reason", "details", "run_id"}
                assert {k: v for k, v in a.items() if k not in ignore} == {
                    k: v for k, v in b.items() if k not in ignore
                }
                assert b["reason"] == a["reason"].replace("orm", "blk")
                assert str(b["details"]) == str(a["details"]).replace("orm", "blk")
        new = _read_back(session, Dec, Dec.run_id == "blk")
        assert all(r["id"] is not None and r["time"].tzinfo is not None for r in new)
        assert [r["details"]["nested"] for r in sorted(new, key=lambda r: r["video_id"])] == [
            {"x": [0, 0.25]},
            {"x": [1, 0.25]},
        ]

    db.transaction(compare)


def test_a_refused_row_raises_integrity_error_and_writes_nothing(db):
    row = _distribution(1, "one")
    db.transaction(lambda s: bulk.insert(s, models.Distribution, [row]))
    clash = {**_distribution(1, "two"), "scheduled_at": SLOT + timedelta(days=3)}
    with pytest.raises(IntegrityError):
        db.transaction(
            lambda s: bulk.insert(s, models.Distribution, [_distribution(3, "ok"), clash])
        )
    D = models.Distribution
    ids = db.transaction(lambda s: list(s.scalars(select(D.id))))
    assert ids == [row["id"]]


def test_nothing_to_insert_is_a_no_op(db):
    db.transaction(lambda s: bulk.insert(s, models.Decision, []))


def _with_time(decision: dict) -> dict:
    return {**decision, "time": AWARE_ELSEWHERE}


def _full(i: int, prefix: str) -> dict:
    """`_distribution` with every column that has a default (a paired insert needs them)."""
    return {**_distribution(i, prefix), "slot_weight": 1.5}


def test_a_paired_insert_stores_what_two_inserts_store(db):
    """persistence.paired_insert: one statement on PostgreSQL, two on SQLite, the same rows."""
    D, Dec = models.Distribution, models.Decision
    two = _full(1, "orm")
    one = {**_full(1, "par"), "video_id": "v2", "source_url": "https://x.test/v2"}
    one["scheduled_at"] = two["scheduled_at"] + timedelta(days=1)

    def separately(session):
        session.execute(insert(D), two)
        session.execute(
            insert(Dec), {**_with_time(_decision(1, "orm")), "distribution_id": two["id"]}
        )

    db.transaction(separately)
    db.transaction(
        lambda s: insert_with_decision(
            s.connection(),
            D,
            one,
            Dec,
            {**_with_time(_decision(1, "par")), "distribution_id": one["id"]},
        )
    )

    def compare(session):
        for reader in (_read_back, _stored_text):
            a, b = reader(session, D, D.id == two["id"]), reader(session, D, D.id == one["id"])
            differ = {"id", "video_id", "source_url", "scheduled_at"}
            assert [{k: v for k, v in r.items() if k not in differ} for r in a] == [
                {k: v for k, v in r.items() if k not in differ} for r in b
            ]
            a, b = (
                reader(session, Dec, Dec.run_id == "orm"),
                reader(session, Dec, Dec.run_id == "par"),
            )
            ignore = {"id", "reason", "details", "run_id", "distribution_id"}
            assert [{k: v for k, v in r.items() if k not in ignore} for r in a] == [
                {k: v for k, v in r.items() if k not in ignore} for r in b
            ]
            assert b[0]["distribution_id"] == one["id"]

    db.transaction(compare)


def test_a_refused_paired_insert_writes_neither_row(db):
    D, Dec = models.Distribution, models.Decision
    first = _full(1, "one")
    db.transaction(lambda s: s.execute(insert(D), first))
    clash = {**_full(1, "two"), "scheduled_at": SLOT + timedelta(days=3)}  # same video
    with pytest.raises(IntegrityError):
        db.transaction(
            lambda s: insert_with_decision(
                s.connection(), D, clash, Dec, _with_time(_decision(1, "clash"))
            )
        )
    assert db.transaction(lambda s: list(s.scalars(select(D.id)))) == [first["id"]]
    assert db.transaction(lambda s: list(s.scalars(select(Dec.id)))) == []


def test_a_paired_insert_needs_every_defaulted_column(db):
    row = _full(1, "one")
    del row["attempts"]
    with pytest.raises(ValueError, match="distributions: no value for attempts"):
        db.transaction(
            lambda s: insert_with_decision(
                s.connection(),
                models.Distribution,
                row,
                models.Decision,
                _with_time(_decision(1, "x")),
            )
        )
    with pytest.raises(ValueError, match="decisions: no value for time"):
        db.transaction(
            lambda s: insert_with_decision(
                s.connection(),
                models.Distribution,
                _full(1, "two"),
                models.Decision,
                _decision(1, "x"),
            )
        )
