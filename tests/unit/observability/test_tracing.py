"""configure_tracing: server spans per unary call with child spans; off means nothing at all."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from server.observability.metrics import ServerMetrics
from server.observability.tracing import Tracing, configure_tracing
from tests.unit.observability import SERVICE, AbortingInterceptor, call, echo_server

GRPC_CODE = "rpc.grpc.status_code"


def traced_handler(tracing: Tracing, seen: list[str]) -> Any:
    def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
        with tracing.span("solve", videos=3, mode="SCHEDULE", ids=("a", "b")) as span:
            span.set_attribute("inner", True)
            with tracing.span("write"):
                seen.append(tracing.current_trace_id())
        return request

    return handler


def test_server_span_per_call_with_child_spans() -> None:
    exporter = InMemorySpanExporter()
    tracing = configure_tracing(None, None, service_name="vdist-test", exporter=exporter)
    assert tracing.enabled
    metrics = ServerMetrics()
    seen: list[str] = []
    interceptor = tracing.server_interceptor()
    assert interceptor is not None
    # The order of server/app.py: metrics, tracing, then the interceptor that aborts.
    interceptors = [metrics.interceptor(), interceptor, AbortingInterceptor()]
    extra = {"Traced": traced_handler(tracing, seen)}
    with echo_server(interceptors, extra) as channel:
        assert call(channel, "Traced") == grpc.StatusCode.OK
        assert call(channel, "Invalid") == grpc.StatusCode.INVALID_ARGUMENT
        assert call(channel, "Bug") == grpc.StatusCode.UNKNOWN
        assert list(channel.unary_stream(f"/{SERVICE}/Count")(b"", timeout=10)) == [
            b"\x00",
            b"\x01",
            b"\x02",
        ]
    tracing.shutdown()

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {
        f"/{SERVICE}/Traced",
        "solve",
        "write",
        f"/{SERVICE}/Invalid",
        f"/{SERVICE}/Bug",
    }, "one span per unary call and per tracing.span(); none for the stream"
    server, solve, write = spans[f"/{SERVICE}/Traced"], spans["solve"], spans["write"]
    assert server.kind == SpanKind.SERVER
    assert server.attributes is not None and server.attributes["rpc.service"] == SERVICE
    assert server.attributes["rpc.method"] == "Traced" and server.attributes[GRPC_CODE] == 0
    assert server.resource.attributes["service.name"] == "vdist-test"
    assert solve.parent is not None and solve.parent.span_id == server.context.span_id
    assert write.parent is not None and write.parent.span_id == solve.context.span_id
    assert solve.attributes == {"videos": 3, "mode": "SCHEDULE", "ids": "('a', 'b')", "inner": True}
    assert seen == [f"{server.context.trace_id:032x}"]

    invalid, bug = spans[f"/{SERVICE}/Invalid"], spans[f"/{SERVICE}/Bug"]
    assert invalid.attributes is not None and invalid.attributes[GRPC_CODE] == 3
    assert invalid.status.status_code != StatusCode.ERROR  # a client error
    assert bug.attributes is not None and bug.attributes[GRPC_CODE] == 2
    assert bug.status.status_code == StatusCode.ERROR
    # The metrics interceptor outside still sees the final codes.
    value = metrics.registry.get_sample_value
    labels = {"grpc_type": "UNARY", "grpc_service": SERVICE, "grpc_method": "Invalid"}
    assert value("grpc_server_handled_total", {**labels, "grpc_code": "INVALID_ARGUMENT"}) == 1
    # The provider is the object's own: the global one is untouched.
    assert not isinstance(trace.get_tracer_provider(), type(tracing._provider))


def test_incoming_traceparent_continues_the_callers_trace() -> None:
    exporter = InMemorySpanExporter()
    tracing = configure_tracing("off", None, exporter=exporter)
    interceptor = tracing.server_interceptor()
    assert interceptor is not None
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with echo_server([interceptor]) as channel:
        channel.unary_unary(f"/{SERVICE}/Ok")(
            b"x", metadata=(("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"),), timeout=10
        )
    (span,) = exporter.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == trace_id


def test_configuring_twice_gives_independent_tracers() -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    a = configure_tracing(None, None, exporter=first)
    b = configure_tracing(None, None, exporter=second)
    with a.span("in-a"):
        pass
    with b.span("in-b"):
        pass
    assert [s.name for s in first.get_finished_spans()] == ["in-a"]
    assert [s.name for s in second.get_finished_spans()] == ["in-b"]
    a.shutdown()
    a.shutdown()  # idempotent
    b.shutdown()


def test_off_is_free() -> None:
    for mode in (None, "", "off", "none", "OFF"):
        tracing = configure_tracing(mode, None)
        assert not tracing.enabled
        assert tracing.server_interceptor() is None
        assert tracing.current_trace_id() == ""
        context = tracing.span("anything", a=1)
        assert context is tracing.span("other")  # one shared no-op, nothing allocated
        with context as span:
            span.set_attribute("ignored", 1)
            assert not span.is_recording()
            assert tracing.current_trace_id() == ""
        tracing.shutdown()


def test_console_and_otlp_modes_build_their_exporters() -> None:
    console = configure_tracing("console", None)
    assert console.enabled and console.server_interceptor() is not None
    console.shutdown()
    # An endpoint alone means OTLP (no span ends here, so nothing is sent and no collector
    # is needed); shutting down with nothing queued is immediate.
    otlp = configure_tracing(None, "http://127.0.0.1:1")
    assert otlp.enabled and otlp.server_interceptor() is not None
    otlp.shutdown()
    with pytest.raises(ValueError):
        configure_tracing("jaeger", None)
