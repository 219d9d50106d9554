"""Alembic environment: migrates the database named by the config's sqlalchemy.url."""

from __future__ import annotations

from alembic import context

from persistence import models  # noqa: F401  (registers every table on Base.metadata)
from persistence.base import Base
from persistence.database import make_engine

config = context.config
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
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; pass a database URL")
run_migrations_online()
