"""Alembic environment: migrates the database named by the config's sqlalchemy.url."""

from __future__ import annotations

from sqlalchemy import text

from alembic import context
from persistence import models  # noqa: F401  (registers every table on Base.metadata)
from persistence.base import Base
from persistence.database import make_engine

config = context.config
MIGRATION_LOCK = 0x7664_6973_7401  # any constant shared by every replica
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Runs the migrations on a live connection (batch mode on SQLite for ALTERs)."""
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together migrate one after the other; the later ones find
                # the schema at head. (DDL is transactional on PostgreSQL, so the lock is held
                # until the migration commits.)
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; pass a database URL")
run_migrations_online()
