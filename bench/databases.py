"""Throwaway databases for the benchmarks: a SQLite file or a PostgreSQL database on the local
server (127.0.0.1:5432, user postgres), removed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
