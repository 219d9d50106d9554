"""Engine setup and the transaction runner."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from distribution.v1 import distribution_service_pb2 as svc
from persistence.database import Database, is_transient
from tests.support.rpc import expect_error
from tests.support.servers import start_server


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/x.db")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


class _Orig(Exception):
    def __init__(self, text: str, sqlstate: str | None = None) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OperationalError("x", {}, _Orig("database is locked")), True),
        (OperationalError("x", {}, _Orig("could not serialize", "40001")), True),
        (OperationalError("x", {}, _Orig("deadlock detected", "40P01")), True),
        (OperationalError("x", {}, _Orig("terminating connection", "57P01")), True),
        (IntegrityError("x", {}, _Orig("duplicate key", "23505")), False),
        (OperationalError("x", {}, _Orig("syntax", "42601")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_transient_errors_are_recognised(exc, transient):
    assert is_transient(exc) is transient


def test_transient_failure_reruns_the_whole_transaction(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/x.db")
    calls = []

    def work(session):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("x", {}, _Orig("database is locked"))
        return "done"

    assert db.transaction(work) == "done" and len(calls) == 3
    db.dispose()


def test_database_down_answers_unavailable():
    handle = start_server(
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1",
        migrate_on_start=False,
        health_probe_seconds=0,
    )
    try:
        err = expect_error(
            grpc.StatusCode.UNAVAILABLE, handle.stub.GetChannel, svc.GetChannelRequest(id="c")
        )
        assert err.reason == "UNAVAILABLE" and "retry" in err.message
    finally:
        handle.close()
