"""Prometheus metrics: gRPC server series, the database retry counter, domain series, /metrics.

Wiring (server/app.py)::

    metrics = ServerMetrics()                      # its own registry, never the global one
    db = Database(url, on_retry=metrics.count_transaction_retry)   # however Database names it
    metrics.add_domain_collector(db)               # vdist_* figures from SQL, cached 5 s
    server = grpc.server(
        executor,
        interceptors=[
            metrics.interceptor(),                 # FIRST: outermost, sees the final status
            *([tracing.server_interceptor()] if tracing.enabled else []),
            ErrorAndLogInterceptor(...),           # exceptions -> abort_with_status
            ...                                    # authentication etc.
        ],
    )
    endpoint = metrics.serve(settings.metrics_address) if settings.metrics_address else None
    ...
    endpoint.stop()                                # on shutdown, after server.stop()

Per-replica series (counted by this process): `grpc_server_started_total`,
`grpc_server_handled_total`, `grpc_server_handling_seconds`,
`vdist_db_transaction_retries_total`, `vdist_domain_metrics_errors_total`. Domain series
(`vdist_distributions`, `vdist_publications_due`, ...; see persistence/repositories/metrics.py)
come from the shared database, so every replica reports the same values: aggregate them with
max() across replicas, never sum().
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from persistence.database import Database
from persistence.repositories.metrics import HistogramCounts, MetricsQueries, MetricsSnapshot
from server.unary import Behaviour, UnaryInterceptor

log = logging.getLogger(__name__)

#: Buckets (seconds) of grpc_server_handling_seconds: Prometheus' defaults, plus the long tail
#: of AutoDistribute (the solver may take a minute or more).
_PROMETHEUS_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HANDLING_BUCKETS = (*_PROMETHEUS_DEFAULT_BUCKETS, 30.0, 60.0, 120.0)
_GRPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")
_UNARY = "UNARY"


@dataclass(frozen=True)
class MetricsEndpoint:
    """A running /metrics HTTP server: its bound `port` (the real one when asked for port 0)
    and `stop()`, which shuts it down and closes its socket (idempotent). Calling the endpoint
    itself is `stop()`."""

    port: int
    stop: Callable[[], None]

    def __call__(self) -> None:
        self.stop()


class ServerMetrics:
    """Every metric of one server process, in one registry of its own.

    `registry` defaults to a fresh CollectorRegistry (never prometheus_client's global one),
    so tests and several servers in one process never collide.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self.started = Counter(
            "grpc_server_started_total",
            "RPCs started on the server.",
            _GRPC_LABELS,
            registry=self.registry,
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, whatever their status.",
            (*_GRPC_LABELS, "grpc_code"),
            registry=self.registry,
        )
        self.handling = Histogram(
            "grpc_server_handling_seconds",
            "Time (seconds) the server took to handle an RPC, until its status.",
            _GRPC_LABELS,
            buckets=HANDLING_BUCKETS,
            registry=self.registry,
        )
        self.transaction_retries = Counter(
            "vdist_db_transaction_retries_total",
            "Database transactions run again after a transient error (this replica).",
            registry=self.registry,
        )

    def interceptor(self) -> grpc.ServerInterceptor:
        """The server interceptor recording grpc_server_* for every unary-unary call.

        Put it FIRST in `grpc.server(interceptors=[...])` (outermost): the code it records is
        the one the client gets, read from `context.code()` after the inner interceptors have
        aborted (`context.abort_with_status`). Streaming handlers pass through unchanged.
        """
        return _MetricsInterceptor(self)

    def count_transaction_retry(self, *_: object) -> None:
        """Counts one retried database transaction (vdist_db_transaction_retries_total).

        A callback for Database: callable with no arguments; extra positional arguments (such
        as tenacity's retry state, if passed straight to `before_sleep`) are ignored.
        """
        self.transaction_retries.inc()

    def add_domain_collector(self, db: Database, cache_seconds: float = 5.0) -> None:
        """Registers the vdist_* domain series, computed in SQL on `db` at most once per
        `cache_seconds` however often /metrics is scraped.

        A scrape while the database is unreachable gets the last values (or no domain series
        before the first success), counts vdist_domain_metrics_errors_total and logs a warning;
        it never fails the scrape. Registering twice on one registry raises ValueError.
        """
        self.registry.register(DomainCollector(db, cache_seconds))

    def serve(self, address: str) -> MetricsEndpoint:
        """Serves this registry at http://`address`/metrics (see `serve_registry`)."""
        return serve_registry(self.registry, address)


def serve_registry(registry: CollectorRegistry, address: str) -> MetricsEndpoint:
    """Serves `registry` as Prometheus text at http://`address`/metrics in a daemon thread.

    `address` is `host:port` (`[::1]:9464` for IPv6; an empty host listens everywhere);
    port 0 picks a free port, given back as `.port`. Raises OSError when the address cannot
    be bound, ValueError when it does not parse. Stop with `.stop()`.
    """
    host, port = split_address(address)
    server, thread = start_http_server(port, host, registry=registry)
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return MetricsEndpoint(port=int(server.server_port), stop=stop)


def multiprocess_registry(directory: str, db: Database, cache_seconds: float) -> CollectorRegistry:
    """The supervisor's registry under `vdist serve --processes N`: the per-process series
    that every server process writes under `directory` (prometheus_client's multiprocess
    mode: counters and histograms summed over the processes), and the domain series once."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    registry.register(DomainCollector(db, cache_seconds))
    return registry


def split_address(address: str) -> tuple[str, int]:
    """`host:port` -> (host, port); `[v6]:port` loses its brackets; an empty host is 0.0.0.0."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"metrics address {address!r} is not host:port")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


class _MetricsInterceptor(UnaryInterceptor):
    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics

    def wrap(self, full_method: str, behaviour: Behaviour) -> Behaviour:
        service, method = _split_method(full_method)
        m = self._metrics
        started = m.started.labels(_UNARY, service, method)
        handling = m.handling.labels(_UNARY, service, method)

        def call(request: Any, context: grpc.ServicerContext) -> Any:
            started.inc()
            began = time.perf_counter()
            failed = True
            try:
                response = behaviour(request, context)
                failed = False
                return response
            finally:
                code = final_code(context, failed=failed)
                m.handled.labels(_UNARY, service, method, code.name).inc()
                handling.observe(time.perf_counter() - began)

        return call


def final_code(context: grpc.ServicerContext, *, failed: bool) -> grpc.StatusCode:
    """The status the client gets: the one set on `context` (by abort, abort_with_status or
    set_code), else OK after a normal return and UNKNOWN after an exception."""
    try:
        code = context.code()
    except Exception:  # a context without code() (grpcio < 1.38): fall back to the outcome
        code = None
    if not isinstance(code, grpc.StatusCode):
        code = None
    if failed and code in (None, grpc.StatusCode.OK):
        return grpc.StatusCode.UNKNOWN
    return code or grpc.StatusCode.OK


def _split_method(full_method: str) -> tuple[str, str]:
    """'/pkg.Service/Method' -> ('pkg.Service', 'Method')."""
    service, sep, method = full_method.lstrip("/").rpartition("/")
    return (service, method) if sep else ("unknown", full_method)


class DomainCollector(Collector):
    """The vdist_* domain series, read from the database at most once per `cache_seconds`.

    One read-only transaction per refresh (persistence.repositories.metrics.MetricsQueries),
    never retried (a scrape must not hang on a database outage). Concurrent scrapes share one
    refresh. On failure the last values stay and `vdist_domain_metrics_errors_total` (a
    counter of this replica, yielded with them) counts it.
    """

    def __init__(
        self,
        db: Database,
        cache_seconds: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        self._errors = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._fetched_at: float | None = None
        self._families: list[Metric] = []

    def describe(self) -> Iterable[Metric]:
        """The series names (no samples, no query), so the registry can refuse duplicates."""
        return [*_families(None), self._errors_family()]

    def collect(self) -> Iterator[Metric]:
        """The cached families, refreshed first when older than `cache_seconds`."""
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._cache_seconds:
                self._fetched_at = now
                self._refresh()
            families = [*self._families, self._errors_family()]
        yield from families

    def _refresh(self) -> None:
        at = datetime.now(UTC)
        try:
            snapshot = self._db.transaction(
                lambda session: MetricsQueries(session).snapshot(at), readonly=True, attempts=1
            )
        except Exception as exc:  # the scrape must go on: keep the last values
            log.warning("domain metrics not refreshed (keeping the last values): %s", exc)
            self._errors += 1
            return
        self._families = _families(snapshot)

    def _errors_family(self) -> Metric:
        family = CounterMetricFamily(
            "vdist_domain_metrics_errors",
            "Failed refreshes of the vdist_* domain figures (this replica; last values kept).",
        )
        family.add_metric([], self._errors)
        return family


def _families(s: MetricsSnapshot | None) -> list[Metric]:
    """The domain metric families of snapshot `s` (None: names and help only, no samples)."""
    distributions = GaugeMetricFamily(
        "vdist_distributions", "Distributions per lifecycle state.", labels=["state"]
    )
    due = GaugeMetricFamily(
        "vdist_publications_due",
        "SCHEDULED publications due now on available active channels (leasable).",
    )
    due_age = GaugeMetricFamily(
        "vdist_publications_due_oldest_age_seconds",
        "Seconds since the scheduled time of the oldest due publication (0 when none).",
    )
    unconfirmed = GaugeMetricFamily(
        "vdist_leases_unconfirmed", "Distributions whose publication outcome is unknown."
    )
    unavailable = GaugeMetricFamily(
        "vdist_channels_unavailable", "Channels unavailable now (reported outage or operator)."
    )
    runs = CounterMetricFamily(
        "vdist_autodistribute_runs",
        "AutoDistribute runs per solver status.",
        labels=["solver_status"],
    )
    run_seconds = HistogramMetricFamily(
        "vdist_autodistribute_run_seconds", "Wall time of AutoDistribute runs (seconds)."
    )
    run_gap = HistogramMetricFamily(
        "vdist_autodistribute_gap", "Relative optimality gap of AutoDistribute runs (0: optimal)."
    )
    outcomes = CounterMetricFamily(
        "vdist_publication_outcomes",
        "Publication outcomes recorded in the audit trail.",
        labels=["result"],
    )
    if s is not None:
        for state, n in s.distributions.items():
            distributions.add_metric([state], n)
        due.add_metric([], s.publications_due)
        due_age.add_metric([], s.publications_due_oldest_age_seconds)
        unconfirmed.add_metric([], s.leases_unconfirmed)
        unavailable.add_metric([], s.channels_unavailable)
        for status, n in sorted(s.runs_by_solver_status.items()):
            runs.add_metric([status], n)
        _add_histogram(run_seconds, s.run_seconds)
        _add_histogram(run_gap, s.run_gap)
        for result, n in s.publication_outcomes.items():
            outcomes.add_metric([result], n)
    return [
        distributions,
        due,
        due_age,
        unconfirmed,
        unavailable,
        runs,
        run_seconds,
        run_gap,
        outcomes,
    ]


def _add_histogram(family: HistogramMetricFamily, h: HistogramCounts) -> None:
    buckets: list[tuple[str, float]] = [(floatToGoString(b), n) for b, n in h.buckets]
    buckets.append(("+Inf", h.count))
    family.add_metric([], buckets, h.sum)
