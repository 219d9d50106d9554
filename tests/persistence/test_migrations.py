"""Alembic is the only way the schema changes: upgrade, no drift, downgrade, on both databases."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from persistence import migrations


def test_upgrade_check_downgrade(fresh_database_url):
    migrations.upgrade(fresh_database_url)
    migrations.check(fresh_database_url)  # raises when models and migrations drift
    engine = create_engine(fresh_database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"channels", "videos", "distributions", "decisions", "runs"} <= tables
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("distributions")}
    assert {
        "uq_distributions_live_video_channel",
        "uq_distributions_live_source_channel",
        "uq_distributions_live_slot",
    } <= indexes
    migrations.downgrade(fresh_database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
