"""Backends and servers shared by the persistence and integration tests.

Every test that asks for `database_url` runs twice: on a SQLite file and on a PostgreSQL
database created for this test run and dropped after it. PostgreSQL is found at
VDIST_TEST_POSTGRES_URL (default the local server); when none is reachable its tests are
skipped with the reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import settings
from sqlalchemy.engine import make_url

from persistence import migrations
from persistence.database import Database
from tests.support.servers import ServerHandle, start_server

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# CI gates a landing, so its property tests draw the same examples every run (a failure found
# there reproduces); local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


def _admin_dsn() -> str:
    url = make_url(os.environ.get("VDIST_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres_unreachable_reason() -> str | None:
    try:
        with psycopg.connect(_admin_dsn(), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {_admin_dsn()}: {str(exc).strip()}"


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> str:
    """A libpq DSN of a PostgreSQL server that may create databases (or skip/fail)."""
    reason = _postgres_unreachable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)")
        pytest.skip(reason)
    return _admin_dsn()


def create_postgres_database(admin_dsn: str) -> tuple[str, str]:
    """Creates an empty database; returns (its SQLAlchemy URL, its name)."""
    name = f"vdist_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_dsn).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), name


def drop_postgres_database(admin_dsn: str, name: str) -> None:
    """Drops a test database, closing whatever still uses it."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind under test."""
    return str(request.param)


def _fresh_database(backend: str, request: pytest.FixtureRequest, tmp_dir: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir}/vdist-{uuid.uuid4().hex[:8]}.db"
        return
    admin = request.getfixturevalue("postgres_admin_dsn")
    url, name = create_postgres_database(admin)
    try:
        yield url
    finally:
        drop_postgres_database(admin, name)


@pytest.fixture(scope="session")
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database of `backend` shared by the session's tests of that backend."""
    yield from _fresh_database(backend, request, str(tmp_path_factory.mktemp("db")))


@pytest.fixture
def fresh_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database of `backend` for one test alone."""
    yield from _fresh_database(backend, request, str(tmp_path_factory.mktemp("db")))


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[ServerHandle]:
    """The real server on a free port, migrated, on the session database of `backend`."""
    handle = start_server(database_url)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def uid() -> str:
    """A short unique suffix, so tests sharing a server never collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def migrated(fresh_database_url: str) -> Iterator[Database]:
    """A fresh database of the backend under test, migrated to head; disposed afterwards."""
    migrations.upgrade(fresh_database_url)
    database = Database(fresh_database_url)
    yield database
    database.dispose()
