"""Helpers shared by the observability tests: a tiny gRPC server and a populated database.

`echo_server(interceptors)` serves `test.v1.Echo` on 127.0.0.1:0 with bytes in and out (no
protobuf): Ok echoes, Invalid raises a domain-like error that the innermost interceptor turns
into `context.abort_with_status` (as server/api/interceptors.py does), Bug raises a plain
exception (UNKNOWN), NotFound sets the code and returns, Count streams three messages.
`populate(url)` writes rows whose domain figures are `EXPECTED`.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session

from persistence import models
from persistence.database import Database
from persistence.enums import DecisionKind, DistributionMethod, DistributionState

SERVICE = "test.v1.Echo"
S = DistributionState


class DomainError(Exception):
    """What a use case raises; the aborting interceptor maps it to a status."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code


class _Status(
    collections.namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status
):
    pass


class AbortingInterceptor(grpc.ServerInterceptor):
    """Turns DomainError into `context.abort_with_status`, like ErrorAndLogInterceptor."""

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary

        def call(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return behaviour(request, context)
            except DomainError as exc:
                context.abort_with_status(_Status(exc.code, str(exc), ()))

        return grpc.unary_unary_rpc_method_handler(call)


def _ok(request: bytes, context: grpc.ServicerContext) -> bytes:
    return request


def _invalid(request: bytes, context: grpc.ServicerContext) -> bytes:
    raise DomainError(grpc.StatusCode.INVALID_ARGUMENT, "bad field")


def _bug(request: bytes, context: grpc.ServicerContext) -> bytes:
    raise RuntimeError("a bug")


def _not_found(request: bytes, context: grpc.ServicerContext) -> bytes:
    context.set_code(grpc.StatusCode.NOT_FOUND)
    context.set_details("no such thing")
    return b""


def _count(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    for i in range(3):
        yield bytes([i])


HANDLERS: dict[str, Callable[[bytes, grpc.ServicerContext], Any]] = {
    "Ok": _ok,
    "Invalid": _invalid,
    "Bug": _bug,
    "NotFound": _not_found,
}


@contextmanager
def echo_server(
    interceptors: Sequence[grpc.ServerInterceptor],
    extra: dict[str, Callable[[bytes, grpc.ServicerContext], Any]] | None = None,
) -> Iterator[grpc.Channel]:
    """A started server with `interceptors` and a channel to it; both closed on exit."""
    methods = {
        name: grpc.unary_unary_rpc_method_handler(fn)
        for name, fn in {**HANDLERS, **(extra or {})}.items()
    }
    methods["Count"] = grpc.unary_stream_rpc_method_handler(_count)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=interceptors)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, methods),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        channel.close()
        server.stop(None).wait()


def call(channel: grpc.Channel, method: str, payload: bytes = b"x") -> grpc.StatusCode:
    """Calls a unary method; its status code."""
    try:
        channel.unary_unary(f"/{SERVICE}/{method}")(payload, timeout=10)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


#: The domain figures of `populate`, as series -> value.
EXPECTED_STATES = {
    "ASSIGNED": 0,
    "SCHEDULED": 7,
    "PUBLISHING": 1,
    "PUBLISHED": 1,
    "FAILED": 1,
    "CANCELLED": 0,
}
EXPECTED_DUE = 3
EXPECTED_DUE_AGE = 7200.0  # the oldest due publication was scheduled 2 h before populate
EXPECTED_UNCONFIRMED = 2
EXPECTED_UNAVAILABLE = 2
EXPECTED_RUNS = {"OPTIMAL": 2, "FEASIBLE": 1}
EXPECTED_RUN_SECONDS = {"0.1": 1, "1.0": 1, "2.0": 2, "30.0": 2, "60.0": 3, "+Inf": 3}
EXPECTED_RUN_SECONDS_SUM = 46.55
EXPECTED_GAP = {"0.0": 1, "0.001": 1, "0.01": 2, "0.25": 2, "0.5": 3, "+Inf": 3}
EXPECTED_OUTCOMES = {
    "published": 2,
    "retry_scheduled": 1,
    "gave_up": 1,
    "lease_expired": 3,
    "late_published": 1,
}


def populate(db: Database) -> datetime:
    """Writes channels, distributions, runs and decisions whose figures are EXPECTED_*;
    returns the instant the times are relative to. Ids are unique per call."""
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:8]
    h = timedelta(hours=1)

    def work(session: Session) -> None:
        channels = {
            "ok": {},
            "down": {"available": False},
            "until_future": {"available": False, "unavailable_until": now + h},
            "until_past": {"available": False, "unavailable_until": now - h},
            "inactive": {"active": False},
        }
        for name, values in channels.items():
            session.add(models.Channel(id=f"{name}-{tag}", timezone="UTC", config={}, **values))
        rows: list[tuple[S, str, datetime, datetime | None, bool]] = [
            (S.SCHEDULED, "ok", now - 2 * h, None, False),  # due, the oldest
            (S.SCHEDULED, "ok", now - h, now - h / 6, False),  # due: backoff over
            (S.SCHEDULED, "ok", now - h / 2, now + h / 6, False),  # backoff
            (S.SCHEDULED, "ok", now + h, None, False),  # future
            (S.SCHEDULED, "down", now - 3 * h, None, False),  # channel down
            (S.SCHEDULED, "until_past", now - h, None, False),  # due: outage over
            (S.SCHEDULED, "inactive", now - 5 * h, None, False),  # channel inactive
            (S.PUBLISHING, "ok", now - 4 * h, None, True),
            (S.PUBLISHED, "ok", now - 6 * h, None, False),
            (S.FAILED, "ok", now - 7 * h, None, True),
        ]
        session.flush()
        for i, (state, channel, at, next_at, unconfirmed) in enumerate(rows):
            video = f"v{i}-{tag}"
            session.add(models.Video(id=video, source_url=f"https://example.com/{video}"))
            session.flush()
            session.add(
                models.Distribution(
                    id=str(uuid.uuid4()),
                    video_id=video,
                    channel_id=f"{channel}-{tag}",
                    source_url=f"https://example.com/{video}",
                    method=DistributionMethod.MANUAL,
                    state=state,
                    scheduled_at=at,
                    next_attempt_at=next_at,
                    unconfirmed=unconfirmed,
                )
            )
        for status, wall, gap in (
            ("OPTIMAL", 0.05, 0.0),
            ("OPTIMAL", 1.5, 0.005),
            ("FEASIBLE", 45.0, 0.3),
        ):
            session.add(
                models.Run(
                    id=str(uuid.uuid4()),
                    mode="SCHEDULE",
                    solver_status=status,
                    wall_seconds=wall,
                    gap=gap,
                )
            )
        kinds = (
            [DecisionKind.PUBLISHED] * 2
            + [DecisionKind.RETRY_SCHEDULED, DecisionKind.GAVE_UP]
            + [DecisionKind.LEASE_EXPIRED] * 3
            + [DecisionKind.LATE_PUBLISHED]
            + [DecisionKind.ASSIGNED] * 4
        )
        for kind in kinds:
            session.add(models.Decision(kind=kind, reason="test", actor="test"))

    db.transaction(work)
    return now


def check_domain_values(registry: CollectorRegistry) -> None:
    """Every domain series of `populate` (shared with the PostgreSQL integration test)."""
    value = registry.get_sample_value
    for state, n in EXPECTED_STATES.items():
        assert value("vdist_distributions", {"state": state}) == n, state
    assert value("vdist_publications_due") == EXPECTED_DUE
    age = value("vdist_publications_due_oldest_age_seconds")
    assert age is not None and EXPECTED_DUE_AGE <= age < EXPECTED_DUE_AGE + 60
    assert value("vdist_leases_unconfirmed") == EXPECTED_UNCONFIRMED
    assert value("vdist_channels_unavailable") == EXPECTED_UNAVAILABLE
    for status, n in EXPECTED_RUNS.items():
        assert value("vdist_autodistribute_runs_total", {"solver_status": status}) == n
    for le, n in EXPECTED_RUN_SECONDS.items():
        assert value("vdist_autodistribute_run_seconds_bucket", {"le": le}) == n, le
    assert value("vdist_autodistribute_run_seconds_count") == 3
    run_sum = value("vdist_autodistribute_run_seconds_sum")
    assert run_sum == pytest.approx(EXPECTED_RUN_SECONDS_SUM)
    for le, n in EXPECTED_GAP.items():
        assert value("vdist_autodistribute_gap_bucket", {"le": le}) == n, le
    assert value("vdist_autodistribute_gap_sum") == pytest.approx(0.305)
    for result, n in EXPECTED_OUTCOMES.items():
        assert value("vdist_publication_outcomes_total", {"result": result}) == n, result
