"""Engine setup for SQLite and PostgreSQL, and the transaction runner every use case goes through.

SQLite: WAL (readers never wait for the writer), foreign keys on, and every write transaction
opened with BEGIN IMMEDIATE. SQLAlchemy silently drops FOR UPDATE on SQLite and a deferred
transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT despite the busy timeout,
so taking the write lock up front is the only race-free read-then-write there.

PostgreSQL: READ COMMITTED with explicit row locks (FOR UPDATE / SKIP LOCKED) where work is
claimed, as the trusted job queues do.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from persistence.repositories import Repositories

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs after which the whole transaction may simply run again.
_TRANSIENT_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "57P01",  # admin_shutdown (server restarting)
    "08000",  # connection_exception
    "08003",  # connection_does_not_exist
    "08006",  # connection_failure
}
#: How long a SQLite writer waits for the write lock before the attempt fails as busy.
SQLITE_BUSY_SECONDS = 30.0
_SQLITE_BUSY_WORDS = ("database is locked", "database is busy", "SQLITE_BUSY")
_READONLY_OPTION = "vdist_readonly"


def is_transient(exc: BaseException) -> bool:
    """Whether running the whole transaction again may succeed (busy, deadlock, lost server)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and any(w in str(exc.orig) for w in _SQLITE_BUSY_WORDS)


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for `url` with the pragmas and transaction behaviour described above."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            # The busy timeout (seconds) lets a writer wait for another instead of failing.
            connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it cost a round trip on every checkout. A connection that died with the
    # server fails its first statement as invalidated, which `is_transient` retries; the pool
    # then recycles every connection older than the failure (`make chaos` restarts PostgreSQL).
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself instead of pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        readonly = conn.get_execution_options().get(_READONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    """Owns the engine and runs units of work as retried transactions."""

    def __init__(
        self, url: str | URL, *, echo: bool = False, on_retry: Callable[[], None] | None = None
    ) -> None:
        self.url = make_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Its busy handler makes a waiting writer sleep and
        # poll (1 ms, 2 ms, ... up to 100 ms), so under load most of a write's latency was
        # sleeping past the moment the lock came free; the writers of this process queue on
        # a lock of their own instead (BEGIN IMMEDIATE still orders them against other
        # processes). Reentrant: a transaction opened inside another one is not blocked here.
        self._writers = threading.RLock() if self.dialect == "sqlite" else None
        # Called before each rerun of a transaction (the retries metric).
        self._on_retry = on_retry

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def transaction(
        self, work: Callable[[Session], T], *, readonly: bool = False, attempts: int = 6
    ) -> T:
        """Runs `work(session)` in one transaction and commits; retries it on transient errors.

        `work` must be safe to run again from the start: it is, since nothing it did survived
        the rolled-back attempt. Any other exception rolls back and surfaces.
        """
        on_retry = self._on_retry
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(multiplier=0.02, max=1.0, jitter=0.05),
            before_sleep=(lambda _state: on_retry()) if on_retry else None,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._run_once(work, readonly=readonly)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def unit_of_work(
        self,
        work: Callable[[Repositories], T],
        *,
        readonly: bool = False,
        audit: Mapping[str, str] | None = None,
    ) -> T:
        """`transaction`, with `work` given the repositories bound to the transaction's session;
        `audit` is added to the details of every decision the work records."""
        return self.transaction(
            lambda s: work(Repositories.bind(s, self.dialect, audit or {})), readonly=readonly
        )

    def _run_once(self, work: Callable[[Session], T], *, readonly: bool) -> T:
        queue = self._writer_turn() if self._writers is not None and not readonly else nullcontext()
        with queue, self.engine.connect() as conn:
            if readonly:
                conn = conn.execution_options(**{_READONLY_OPTION: True})
                if self.dialect == "postgresql":
                    # READ COMMITTED takes a snapshot per statement anyway: a read gains
                    # nothing from BEGIN and COMMIT but their two round trips.
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            with Session(bind=conn, expire_on_commit=False) as session, conn.begin():
                result = work(session)
                session.flush()
                return result

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """This process's turn to write on SQLite; after the busy timeout, the same transient
        "database is locked" error that SQLite itself gives (so the transaction is retried)."""
        assert self._writers is not None
        if not self._writers.acquire(timeout=SQLITE_BUSY_SECONDS):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        try:
            yield
        finally:
            self._writers.release()

    def ping(self) -> None:
        """One `SELECT 1` in a read-only transaction (on SQLite a deferred BEGIN, so that it
        never waits behind a writer); raises when the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_READONLY_OPTION: True}).exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()
