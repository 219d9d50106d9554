"""The planner lock: one writing AutoDistribute at a time across every replica."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

# Any constant works as long as every replica uses the same one.
PLANNER_LOCK_KEY = 0x7664_6973_7400
_LOCK_NOT_AVAILABLE = "55P03"


class PlannerLockTimeout(Exception):
    """Another run held the planner lock for longer than the wait."""


class PlannerLock:
    """A transaction-scoped advisory lock on PostgreSQL; on SQLite, BEGIN IMMEDIATE already made
    the transaction the only writer."""

    def __init__(self, session: Session, dialect: str) -> None:
        self._session = session
        self._dialect = dialect

    def acquire(self, wait: str) -> None:
        """Takes the lock for the rest of the transaction, waiting at most `wait` (e.g. '10s')."""
        if self._dialect != "postgresql":
            return
        try:
            self._session.execute(text(f"SET LOCAL lock_timeout = '{wait}'"))
            self._session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PLANNER_LOCK_KEY})
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise PlannerLockTimeout(wait) from exc
            raise
