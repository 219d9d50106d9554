"""The vdist_* domain series computed in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from persistence import migrations
from persistence.database import Database
from server.observability.metrics import ServerMetrics
from tests.unit.observability import check_domain_values, populate


@pytest.fixture
def db(fresh_database_url: str) -> Iterator[Database]:
    migrations.upgrade(fresh_database_url)
    database = Database(fresh_database_url)
    try:
        yield database
    finally:
        database.dispose()


def test_domain_series_on_each_backend(db: Database) -> None:
    populate(db)
    metrics = ServerMetrics()
    metrics.add_domain_collector(db, cache_seconds=0)
    check_domain_values(metrics.registry)
    assert metrics.registry.get_sample_value("vdist_domain_metrics_errors_total") == 0


def test_domain_series_endpoint_on_each_backend(db: Database) -> None:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    metrics = ServerMetrics()
    metrics.add_domain_collector(db)
    endpoint = metrics.serve("127.0.0.1:0")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=5) as r:
            names = {f.name for f in text_string_to_metric_families(r.read().decode())}
    finally:
        endpoint.stop()
    assert {
        "vdist_distributions",
        "vdist_publications_due",
        "vdist_publications_due_oldest_age_seconds",
        "vdist_leases_unconfirmed",
        "vdist_channels_unavailable",
        "vdist_autodistribute_runs",
        "vdist_autodistribute_run_seconds",
        "vdist_autodistribute_gap",
        "vdist_publication_outcomes",
        "grpc_server_started",
        "vdist_db_transaction_retries",
    } <= names
