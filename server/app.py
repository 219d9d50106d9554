"""The composition root: building and running the gRPC server.

`create_server(settings)` wires the database, the API edge and the use cases together and
returns the started server with its real port (tests pass port 0); `serve(settings)` adds
signal handling and waits.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from persistence import migrations
from persistence.database import Database
from server.api.access import AccessInterceptor, Principals, PrincipalsFileError
from server.api.interceptors import ErrorAndLogInterceptor
from server.api.paging import PageTokens
from server.api.reflection import add_reflection
from server.api.servicer import DistributionServicer
from server.api.transactions import Transactions
from server.api.transport import check_exposure, server_credentials
from server.observability.metrics import MetricsEndpoint, ServerMetrics
from server.observability.tracing import Tracing, configure_tracing
from server.periodic import Periodic
from server.settings import Settings
from server.sweeper import MissedSlotSweeper
from server.usecases.publishing import OutagePolicy

log = logging.getLogger(__name__)
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME = svc.DESCRIPTOR.services_by_name["DistributionService"].full_name


class CannotListen(RuntimeError):
    """The server could not bind its address, or may not listen as configured."""


class DatabaseHealth(Periodic):
    """Reports NOT_SERVING while the database cannot be reached, SERVING again when it can.

    A load balancer or orchestrator then routes calls away from a replica whose database is
    gone instead of collecting UNAVAILABLE answers from it.
    """

    def __init__(self, db: Database, servicer: health.HealthServicer, interval: float) -> None:
        super().__init__("db-health", interval)
        self._db = db
        self._servicer = servicer

    def probe(self) -> bool:
        """One `SELECT 1`; sets the health status from its outcome and returns it."""
        try:
            self._db.ping()
            ok = True
        except Exception as exc:  # any failure to reach the database means not serving
            log.warning("database health probe failed: %s", exc)
            ok = False
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if ok
            else (health_pb2.HealthCheckResponse.NOT_SERVING)
        )
        for name in ("", SERVICE_NAME):
            self._servicer.set(name, status)
        return ok

    def tick(self) -> None:
        self.probe()


@dataclass
class RunningServer:
    """A started server, its bound port, its health reporting and its database."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    db_health: DatabaseHealth
    db: Database
    principals: Principals | None = None
    metrics: ServerMetrics | None = None
    metrics_endpoint: MetricsEndpoint | None = None
    tracing: Tracing | None = None
    sweeper: MissedSlotSweeper | None = None

    def stop(self, grace: float | None = None) -> None:
        """Turns health NOT_SERVING, lets in-flight calls finish within `grace`, then stops.

        Health turns first: stopping the probe waits for a probe in flight, and the balancer
        must route new calls elsewhere at once (a set() after this is ignored)."""
        self.health.enter_graceful_shutdown()
        self.db_health.stop()
        if self.sweeper is not None:
            self.sweeper.stop()
        self.server.stop(grace).wait()
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()
        if self.tracing is not None:
            self.tracing.shutdown()
        self.db.dispose()


@functools.cache
def _freeze_startup_heap() -> None:
    """Moves every object alive now out of the garbage collector's generations.

    What a server holds after its start (modules, SQLAlchemy's metadata and mappers, protobuf
    descriptors, the servicer) lives as long as the process, yet each full
    (generation 2) collection would scan all of it again: about 70 ms each with a large heap,
    the p90 of a wide SuggestPlacements (docs/performance.md). Frozen, the full collections
    scan only what calls allocate. The collection first, so the migration's garbage is freed
    rather than kept forever. Once (cached): a process building several servers (the tests)
    pays it once."""
    gc.collect()
    gc.freeze()


def _add_health(server: grpc.Server) -> health.HealthServicer:
    servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in ("", SERVICE_NAME):
        servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return servicer


def _add_reflection(server: grpc.Server) -> None:
    # grpcurl needs reflection to list and describe services without the .proto files.
    add_reflection(server, (SERVICE_NAME, health.SERVICE_NAME))


def build_servicer(settings: Settings, db: Database, tracing: Tracing) -> DistributionServicer:
    """The servicer with its use cases, all on one database."""
    outages = OutagePolicy(
        cooldown=timedelta(seconds=settings.outage_cooldown_seconds),
        max_cooldown=timedelta(seconds=settings.outage_max_cooldown_seconds),
    )
    return DistributionServicer(
        Transactions(db),
        PageTokens(settings.page_token_secret),
        outages,
        span=tracing.span,
        proposal_ttl=timedelta(hours=settings.proposal_ttl_hours),
    )


def _interceptors(
    settings: Settings, principals: Principals | None, metrics: ServerMetrics, tracing: Tracing
) -> list[Any]:
    # The first is the outermost. Metrics see the final code of every call; the server span
    # holds the access log line (its trace id); errors are mapped around the access check.
    chain: list[Any] = [metrics.interceptor()]
    if (span_interceptor := tracing.server_interceptor()) is not None:
        chain.append(span_interceptor)
    chain.append(
        ErrorAndLogInterceptor(access_log=settings.access_log, trace_id=tracing.current_trace_id)
    )
    if principals is not None:
        chain.append(
            AccessInterceptor(
                principals, reflection_requires_auth=settings.reflection_requires_auth
            )
        )
    return chain


def create_server(
    settings: Settings,
    *,
    tracing: Tracing | None = None,
    principals: Principals | None = None,
    reuse_port: bool = False,
) -> RunningServer:
    """Checks the exposure, migrates (unless told not to), builds, binds and starts.

    `tracing` replaces the one the settings describe (tests pass an in-memory exporter);
    `reuse_port` lets the processes of one `vdist serve --processes N` share the address
    (server/processes.py checks that it was free first)."""
    check_exposure(settings)
    credentials = server_credentials(settings)
    if principals is None and settings.tokens_file:
        principals = Principals(settings.tokens_file)
    if settings.migrate_on_start:
        migrations.upgrade(settings.database_url)
    metrics = ServerMetrics()
    if tracing is None:
        tracing = configure_tracing(settings.tracing or None, os.environ.get(OTLP_ENDPOINT_ENV))
    db = Database(settings.database_url, on_retry=metrics.count_transaction_retry)
    metrics.add_domain_collector(db, cache_seconds=settings.metrics_cache_seconds)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="rpc"),
        interceptors=_interceptors(settings, principals, metrics, tracing),
        options=[
            # AutoDistribute plans for a whole backlog exceed gRPC's 4 MB default.
            ("grpc.max_send_message_length", settings.max_message_bytes),
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            # Idle service-to-service channels stay open through NATs and load balancers.
            ("grpc.keepalive_time_ms", 60_000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 30_000),
            # gRPC sets SO_REUSEPORT by default: a second server on a busy port would start
            # and silently take half the calls. Off, binding a busy port fails at start.
            ("grpc.so_reuseport", int(reuse_port)),
        ],
    )
    svc_grpc.add_DistributionServiceServicer_to_server(
        build_servicer(settings, db, tracing), server
    )
    health_servicer = _add_health(server)
    _add_reflection(server)
    try:
        if credentials is None:
            port = server.add_insecure_port(settings.address)
        else:
            port = server.add_secure_port(settings.address, credentials)
    except RuntimeError:
        port = 0
    if port == 0:
        db.dispose()
        raise CannotListen(
            f"cannot listen on {settings.address}: the address is in use (another vdist "
            "serve?) or not an address of this machine"
        )
    endpoint = metrics.serve(settings.metrics_address) if settings.metrics_address else None
    # Built and migrated: what exists now stays for the process's life; keep it out of the
    # full collections, so that they stay short.
    _freeze_startup_heap()
    server.start()
    db_health = DatabaseHealth(db, health_servicer, settings.health_probe_seconds)
    db_health.start()
    sweeper = MissedSlotSweeper(db, settings.missed_slot_sweep_seconds)
    sweeper.start()
    return RunningServer(
        server,
        port,
        health_servicer,
        db_health,
        db,
        principals,
        metrics,
        endpoint,
        tracing,
        sweeper,
    )


def serve(
    settings: Settings,
    *,
    reuse_port: bool = False,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Runs the server until SIGTERM or SIGINT, then drains in-flight calls and exits; SIGHUP
    re-reads the tokens file. The handlers and the principals exist before the port opens, so
    a signal sent as soon as the server answers is never lost (SIGHUP's default would end the
    process, and a reload before create_server returned was dropped).

    `reuse_port` and `on_ready(port)` serve server/processes.py: one of N processes on a
    shared address, telling its supervisor when it answers."""
    stopping = threading.Event()
    # Made before the port opens, so that SIGHUP reloads them whenever it comes.
    principals = Principals(settings.tokens_file) if settings.tokens_file else None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: draining for up to %.0fs", signum, settings.grace_seconds)
        stopping.set()

    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        if principals is None:
            return
        try:
            principals.reload()
        except PrincipalsFileError as exc:
            log.error("SIGHUP: kept the previous principals: %s", exc)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_hangup)
    running = create_server(settings, principals=principals, reuse_port=reuse_port)
    if on_ready is not None:
        on_ready(running.port)
    host = settings.address.rsplit(":", 1)[0]
    log.info(
        "vdist serving on %s:%d (database %s)",
        host,
        running.port,
        running.db.url.render_as_string(hide_password=True),
    )
    # A bounded wait: a signal delivered to another thread (grpc's) only runs its Python
    # handler when the main thread next runs bytecode, which an unbounded wait never does.
    while not stopping.wait(0.2):
        pass
    running.stop(settings.grace_seconds)
    log.info("vdist stopped")
