"""Throwaway databases for the benchmarks: a SQLite file or a PostgreSQL database on the local
server (127.0.0.1:5432, user postgres), removed afterwards; and the real server on one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def database(backend: str, tmp: str, prefix: str = "bench") -> Iterator[str]:
    """A fresh database URL of `backend` ('sqlite' or 'postgresql'), dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    if backend == "sqlite":
        path = Path(tmp) / f"{prefix}-{tag}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"vdist_{prefix.replace('-', '_')}_{tag}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def quiet_server(url: str, **overrides: Any) -> Any:
    """The real server (`create_server`) in this process on a free loopback port over `url`,
    without the environment's settings or the access log; `overrides` are more settings."""
    from server.app import create_server
    from server.settings import Settings

    settings = {"address": "127.0.0.1:0", "database_url": url, "access_log": False, **overrides}
    return create_server(Settings.from_env(environ={}, **settings))
