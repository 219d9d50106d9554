"""What a database error means for the caller: lost a race, database unreachable, or refused for
good. `server.api.status` turns each kind into a gRPC code, so that no permanent refusal is
retried as if it were transient and no outage is reported as a bug.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATE classes and codes (PostgreSQL appendix A).
_UNREACHABLE_CLASSES = ("08", "53", "58")  # connection, insufficient resources, system error
_UNREACHABLE_CODES = ("57P01", "57P02", "57P03", "57P05")  # shutdown, crash, starting up
_CONFLICT_CODES = ("40001", "40P01", "55P03", "57014")  # serialization, deadlock, lock, timeout
_UNIQUE_VIOLATION = "23505"
_SQLITE_UNREACHABLE = (
    "unable to open database",
    "disk i/o error",
    "database or disk is full",
    "database is locked",
    "database is busy",
    "readonly database",
)


class Fault(StrEnum):
    """The kinds of database failure a caller must tell apart."""

    CONFLICT = "CONFLICT"  # a concurrent transaction won; running the call again may work
    UNREACHABLE = "UNREACHABLE"  # the database cannot be reached or is overloaded: retry later
    REFUSED = "REFUSED"  # the statement is refused for good: a bug, never retried
    NOT_DATABASE = "NOT_DATABASE"  # not a database error at all


def classify(exc: BaseException) -> Fault:
    """The kind of failure `exc` is."""
    if isinstance(exc, PoolTimeout):
        return Fault.UNREACHABLE
    if not isinstance(exc, DBAPIError):
        return Fault.NOT_DATABASE
    if exc.connection_invalidated:
        return Fault.UNREACHABLE
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(exc, IntegrityError):
        unique = sqlstate == _UNIQUE_VIOLATION or "UNIQUE constraint failed" in str(orig)
        return Fault.CONFLICT if unique else Fault.REFUSED
    if isinstance(orig, sqlite3.Error):
        text = str(orig).lower()
        return Fault.UNREACHABLE if any(w in text for w in _SQLITE_UNREACHABLE) else Fault.REFUSED
    if sqlstate is None:
        # A driver error without a server answer: the connection failed or was refused.
        return Fault.UNREACHABLE
    if sqlstate in _CONFLICT_CODES:
        return Fault.CONFLICT
    if sqlstate[:2] in _UNREACHABLE_CLASSES or sqlstate in _UNREACHABLE_CODES:
        return Fault.UNREACHABLE
    return Fault.REFUSED
