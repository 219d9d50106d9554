"""Database errors sorted by what the caller should do: retry, wait, or never retry."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from persistence.faults import Fault, classify


class _PgError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"pg error {sqlstate}")
        self.sqlstate = sqlstate


def _wrap(kind, orig, **kw):
    return kind("SELECT 1", {}, orig, **kw)


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (_wrap(IntegrityError, _PgError("23505")), Fault.CONFLICT),
        (_wrap(IntegrityError, _PgError("23503")), Fault.REFUSED),  # foreign key: a bug
        (
            _wrap(IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed: x")),
            Fault.CONFLICT,
        ),
        (
            _wrap(IntegrityError, sqlite3.IntegrityError("FOREIGN KEY constraint failed")),
            Fault.REFUSED,
        ),
        (_wrap(OperationalError, _PgError("40001")), Fault.CONFLICT),
        (_wrap(OperationalError, _PgError("40P01")), Fault.CONFLICT),
        (_wrap(OperationalError, _PgError("57P01")), Fault.UNREACHABLE),
        (_wrap(OperationalError, _PgError("08006")), Fault.UNREACHABLE),
        (_wrap(OperationalError, _PgError("53300")), Fault.UNREACHABLE),  # too many connections
        (_wrap(OperationalError, _PgError(None)), Fault.UNREACHABLE),  # connection refused
        # btree row too large (the 9,000-character URL): permanent, never "retry later".
        (_wrap(OperationalError, _PgError("54000")), Fault.REFUSED),
        (_wrap(DataError, _PgError("22021")), Fault.REFUSED),  # NUL / bad encoding
        (_wrap(DataError, _PgError("22001")), Fault.REFUSED),  # value too long
        (_wrap(ProgrammingError, _PgError("42P01")), Fault.REFUSED),
        (
            _wrap(OperationalError, sqlite3.OperationalError("database is locked")),
            Fault.UNREACHABLE,
        ),
        (
            _wrap(OperationalError, sqlite3.OperationalError("unable to open database file")),
            Fault.UNREACHABLE,
        ),
        (_wrap(OperationalError, sqlite3.OperationalError("no such table: x")), Fault.REFUSED),
        (
            _wrap(OperationalError, _PgError("22000"), connection_invalidated=True),
            Fault.UNREACHABLE,
        ),
        (PoolTimeout("pool exhausted"), Fault.UNREACHABLE),
        (ValueError("not a database error"), Fault.NOT_DATABASE),
    ],
)
def test_classify(error, fault):
    assert classify(error) is fault
