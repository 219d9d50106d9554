"""Assign's statements per call, and the indexes its channel reads use, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert

from distribution.v1 import distribution_service_pb2 as svc
from persistence import models
from persistence.database import Database
from persistence.enums import DistributionMethod, DistributionState
from server.api import converters
from server.app import build_servicer
from server.observability.tracing import Tracing
from server.settings import Settings
from server.usecases import lookups
from server.usecases.errors import NotFound
from tests.support.factories import channel

HOURLY = tuple(f"{h:02d}:00" for h in range(24))
# Live rows in the channel's past: the duplicate and slot reads must not grow with them.
HISTORY = 300
# The "full" channel's booked days: past the slot search's first window of four weeks.
BOOKED_DAYS = 35


class _Context:
    """The little of grpc.ServicerContext that Assign reads."""

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def time_remaining(self) -> float:
        return 10.0


@pytest.fixture
def db(migrated: Database) -> Database:
    migrated.transaction(_seed)
    return migrated


def _seed(session: Any) -> None:
    config = converters.channel_config(channel("x", times=HOURLY))
    daily = converters.channel_config(channel("x", times=("09:00",)))
    session.execute(
        insert(models.Channel),
        [
            {"id": "c", "timezone": "Europe/Berlin", "config": config},
            {"id": "full", "timezone": "UTC", "config": daily},
        ],
    )
    videos = (
        [f"v{i}" for i in range(20)]
        + [f"h{i}" for i in range(HISTORY)]
        + [f"b{i}" for i in range(BOOKED_DAYS)]
    )
    session.execute(
        insert(models.Video), [{"id": v, "source_url": f"https://x.test/{v}"} for v in videos]
    )
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    history = [
        _live_row(f"h{i}", "c", now - timedelta(hours=i + 1), DistributionState.PUBLISHED)
        for i in range(HISTORY)
    ]
    # "full": its daily 09:00 UTC slot taken every day of the next five weeks, beyond the
    # first window of taken slots.
    nine = now.replace(hour=9)
    booked = [
        _live_row(f"b{i}", "full", nine + timedelta(days=i), DistributionState.SCHEDULED)
        for i in range(BOOKED_DAYS)
    ]
    session.execute(insert(models.Distribution), history + booked)


def _live_row(video: str, channel_id: str, at: datetime, state: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "video_id": video,
        "channel_id": channel_id,
        "source_url": f"https://x.test/{video}",
        "method": DistributionMethod.MANUAL,
        "state": state,
        "scheduled_at": at,
    }


def _assign(db: Database, request: svc.AssignRequest) -> tuple[list[str], svc.AssignResponse]:
    """The statements one Assign call ran (BEGIN left out: only SQLite sends one), and its
    response."""
    statements: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(statement.split(None, 1)[0])

    servicer = build_servicer(Settings.from_env(environ={}), db, Tracing(None))
    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        response = servicer.Assign(request, _Context())  # type: ignore[arg-type]
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    return statements, response


def _writes(db: Database) -> list[str]:
    """The statements of a distribution and its decision: one on PostgreSQL (the distribution
    a data-modifying CTE of the decision's INSERT), two INSERTs on SQLite."""
    return ["WITH"] if db.engine.dialect.name == "postgresql" else ["INSERT", "INSERT"]


def test_assign_runs_three_or_four_statements_whatever_the_channel_s_history(db):
    # the channel (locked) with the video, its duplicates with the first window of taken
    # slots, the distribution with its decision
    for vid in ("v0", "v1", "v2"):
        statements, response = _assign(db, svc.AssignRequest(video_id=vid, channel_ids=["c"]))
        assert response.results[0].outcome == svc.ASSIGN_OUTCOME_ASSIGNED
        assert statements == ["SELECT", "SELECT", *_writes(db)]


def test_a_request_id_adds_its_lookup_and_its_stored_response(db):
    request = svc.AssignRequest(video_id="v3", channel_ids=["c"], request_id=str(uuid.uuid4()))
    statements, first = _assign(db, request)
    assert statements == ["SELECT"] * 3 + _writes(db) + ["INSERT"]
    statements, replay = _assign(db, request)
    assert statements == ["SELECT"] and replay == first


def test_a_channel_booked_past_the_first_window_costs_one_more_read(db):
    statements, response = _assign(db, svc.AssignRequest(video_id="v4", channel_ids=["full"]))
    assert response.results[0].outcome == svc.ASSIGN_OUTCOME_ASSIGNED
    assert statements == ["SELECT"] * 3 + _writes(db)


def test_a_duplicate_is_rejected_without_a_slot_search(db):
    _assign(db, svc.AssignRequest(video_id="v5", channel_ids=["c"]))
    statements, response = _assign(db, svc.AssignRequest(video_id="v5", channel_ids=["c"]))
    assert response.results[0].outcome == svc.ASSIGN_OUTCOME_REJECTED_DUPLICATE
    assert statements == ["SELECT", "SELECT", "INSERT"]


def test_the_channel_reads_use_the_partial_indexes(db):
    now = datetime.now(UTC)
    captured: list[tuple[str, Any]] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        db.unit_of_work(
            lambda r: r.distributions.duplicate_and_taken(
                "v9", "https://x.test/v9", "c", now, now + timedelta(days=7)
            ),
            readonly=True,
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    statement, parameters = next((s, p) for s, p in captured if s.startswith("SELECT"))
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")  # the planner's statistics of the seeded rows
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plan = "\n".join(str(row[-1]) for row in rows)
        else:
            # A table this small is cheaper to scan: forbid that to see which indexes fit.
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            plan = "\n".join(str(row[0]) for row in rows)
        conn.rollback()
    for index in (
        "ix_distributions_live_channel_video",
        "ix_distributions_live_channel_source",
        "uq_distributions_live_slot",
    ):
        assert index in plan, plan


@pytest.mark.parametrize(
    ("video_id", "channel_ids", "field"),
    [
        ("nope", ["c"], "video_id"),
        ("nope", ["nope"], "video_id"),  # the video is named first even when nothing exists
        ("v6", ["c", "nope"], "channel_ids[1]"),
        ("v6", ["nope"], "channel_ids[0]"),
    ],
)
def test_not_found_names_the_video_first(db, video_id, channel_ids, field):
    with pytest.raises(NotFound) as raised:
        db.unit_of_work(lambda r: lookups.video_and_locked_channels(r, video_id, channel_ids))
    assert raised.value.field == field
