"""ServerMetrics: the gRPC interceptor scraped over HTTP, and the SQL domain collector."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError

from persistence import migrations
from persistence.database import Database
from server.observability.metrics import (
    DomainCollector,
    MetricsEndpoint,
    ServerMetrics,
    split_address,
)
from tests.unit.observability import (
    EXPECTED_DUE,
    SERVICE,
    AbortingInterceptor,
    call,
    check_domain_values,
    echo_server,
    populate,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(endpoint: MetricsEndpoint) -> Samples:
    """GET /metrics, parsed: (sample name, labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=5) as r:
        assert r.status == 200
        text = r.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def grpc_labels(method: str, **more: str) -> frozenset[tuple[str, str]]:
    return frozenset(
        {"grpc_type": "UNARY", "grpc_service": SERVICE, "grpc_method": method, **more}.items()
    )


@pytest.fixture
def metrics() -> Iterator[ServerMetrics]:
    yield ServerMetrics()


@pytest.fixture
def endpoint(metrics: ServerMetrics) -> Iterator[MetricsEndpoint]:
    ep = metrics.serve("127.0.0.1:0")
    try:
        yield ep
    finally:
        ep.stop()


def test_interceptor_counts_started_handled_and_codes(
    metrics: ServerMetrics, endpoint: MetricsEndpoint
) -> None:
    with echo_server([metrics.interceptor(), AbortingInterceptor()]) as channel:
        assert call(channel, "Ok") == grpc.StatusCode.OK
        assert call(channel, "Ok") == grpc.StatusCode.OK
        assert call(channel, "Invalid") == grpc.StatusCode.INVALID_ARGUMENT
        assert call(channel, "Bug") == grpc.StatusCode.UNKNOWN
        assert call(channel, "NotFound") == grpc.StatusCode.NOT_FOUND
        # A streaming method passes through unchanged and uncounted.
        stream = channel.unary_stream(f"/{SERVICE}/Count")(b"", timeout=10)
        assert list(stream) == [b"\x00", b"\x01", b"\x02"]

    samples = scrape(endpoint)
    assert samples[("grpc_server_started_total", grpc_labels("Ok"))] == 2
    assert samples[("grpc_server_handled_total", grpc_labels("Ok", grpc_code="OK"))] == 2
    expected = {"Invalid": "INVALID_ARGUMENT", "Bug": "UNKNOWN", "NotFound": "NOT_FOUND"}
    for method, code in expected.items():
        assert samples[("grpc_server_started_total", grpc_labels(method))] == 1
        assert samples[("grpc_server_handled_total", grpc_labels(method, grpc_code=code))] == 1
        assert ("grpc_server_handled_total", grpc_labels(method, grpc_code="OK")) not in samples
    assert samples[("grpc_server_handling_seconds_count", grpc_labels("Ok"))] == 2
    assert samples[("grpc_server_handling_seconds_sum", grpc_labels("Ok"))] > 0
    inf = grpc_labels("Invalid", le="+Inf")
    assert samples[("grpc_server_handling_seconds_bucket", inf)] == 1
    assert not any(dict(labels).get("grpc_method") == "Count" for _, labels in samples), (
        "streams are not counted"
    )


def test_transaction_retries_and_registries_are_separate(endpoint: MetricsEndpoint) -> None:
    first, second = ServerMetrics(), ServerMetrics()  # no duplicate-name clash
    first.count_transaction_retry()
    first.count_transaction_retry("tenacity retry state")
    assert first.registry.get_sample_value("vdist_db_transaction_retries_total") == 2
    assert second.registry.get_sample_value("vdist_db_transaction_retries_total") == 0
    assert scrape(endpoint)[("vdist_db_transaction_retries_total", frozenset())] == 0


def test_endpoint_stops_and_frees_its_port(metrics: ServerMetrics) -> None:
    ep = metrics.serve("127.0.0.1:0")
    assert ep.port > 0
    assert scrape(ep)  # serves
    ep()  # calling it is stop()
    ep.stop()  # idempotent
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{ep.port}/metrics", timeout=2)


def test_split_address() -> None:
    assert split_address("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert split_address("[::1]:0") == ("::1", 0)
    assert split_address(":9464") == ("0.0.0.0", 9464)
    for bad in ("9464", "host:", "host:port", "h:70000"):
        with pytest.raises(ValueError):
            split_address(bad)


@pytest.fixture
def db(tmp_path: Any) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path}/metrics.db"
    migrations.upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


def count_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = db.transaction

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(db, "transaction", counting)
    return calls


def test_domain_collector_values_on_sqlite(db: Database) -> None:
    populate(db)
    metrics = ServerMetrics()
    metrics.add_domain_collector(db, cache_seconds=0)
    check_domain_values(metrics.registry)


def test_empty_database_reports_zeros(db: Database) -> None:
    metrics = ServerMetrics()
    metrics.add_domain_collector(db)
    value = metrics.registry.get_sample_value
    assert value("vdist_distributions", {"state": "SCHEDULED"}) == 0
    assert value("vdist_publications_due") == 0
    assert value("vdist_publications_due_oldest_age_seconds") == 0
    assert value("vdist_autodistribute_run_seconds_count") == 0
    assert value("vdist_autodistribute_gap_bucket", {"le": "+Inf"}) == 0
    assert value("vdist_publication_outcomes_total", {"result": "gave_up"}) == 0


def test_cache_runs_the_queries_once_per_period(
    db: Database, metrics: ServerMetrics, endpoint: MetricsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_transactions(db, monkeypatch)
    metrics.add_domain_collector(db, cache_seconds=60)
    first, second = scrape(endpoint), scrape(endpoint)
    assert first[("vdist_publications_due", frozenset())] == 0
    assert first == second
    assert len(calls) == 1


def test_refresh_after_the_period(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_transactions(db, monkeypatch)
    clock = [100.0]
    registry = CollectorRegistry()
    registry.register(DomainCollector(db, cache_seconds=5, clock=lambda: clock[0]))
    assert registry.get_sample_value("vdist_publications_due") == 0
    populate(db)  # one transaction of its own
    clock[0] += 4.9
    assert registry.get_sample_value("vdist_publications_due") == 0  # cached
    clock[0] += 0.2
    assert registry.get_sample_value("vdist_publications_due") == EXPECTED_DUE
    assert len(calls) == 3


def test_database_down_keeps_the_last_values(
    db: Database, metrics: ServerMetrics, endpoint: MetricsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(db)
    metrics.add_domain_collector(db, cache_seconds=0)
    assert scrape(endpoint)[("vdist_publications_due", frozenset())] == EXPECTED_DUE

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db, "transaction", down)
    samples = scrape(endpoint)  # no exception into the HTTP handler
    assert samples[("vdist_publications_due", frozenset())] == EXPECTED_DUE
    assert samples[("vdist_domain_metrics_errors_total", frozenset())] == 1


def test_database_down_from_the_start_serves_the_rest(
    tmp_path: Any, metrics: ServerMetrics, endpoint: MetricsEndpoint
) -> None:
    unreachable = Database(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    metrics.add_domain_collector(unreachable, cache_seconds=0)
    metrics.count_transaction_retry()
    samples = scrape(endpoint)
    assert samples[("vdist_db_transaction_retries_total", frozenset())] == 1
    assert samples[("vdist_domain_metrics_errors_total", frozenset())] == 1
    assert not any(name.startswith("vdist_distributions") for name, _ in samples)


def test_registering_the_domain_collector_twice_is_refused(db: Database) -> None:
    metrics = ServerMetrics()
    metrics.add_domain_collector(db)
    with pytest.raises(ValueError):
        metrics.add_domain_collector(db)
