"""OpenTelemetry tracing: off by default, and then free (no SDK, no interceptor, no spans).

Wiring (server/app.py)::

    tracing = configure_tracing(
        settings.tracing,                                  # None/"" / "off" | "console" | "otlp"
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"),     # e.g. http://collector:4317
    )
    interceptors = [metrics.interceptor()]                 # outermost
    if tracing.enabled:
        interceptors.append(tracing.server_interceptor())  # 2nd: the span covers the access log
    interceptors += [ErrorAndLogInterceptor(...), ...]
    ...
    with tracing.span("autodistribute.solve", videos=n):  # child spans anywhere in a call
        ...
    tracing.current_trace_id()                             # "" when off; for the JSON log line
    tracing.shutdown()                                     # at exit, after server.stop()

Modes: None, "", "off" or "none" with no endpoint: off. "console": spans printed to standard
output. "otlp", or any mode but "console" with an endpoint: OTLP/gRPC to `endpoint` (None: the
exporter reads OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT itself; an http:// endpoint is
plaintext). `exporter=` (tests: InMemorySpanExporter) overrides both and exports each span at
once (SimpleSpanProcessor); the others batch (BatchSpanProcessor). The TracerProvider is this
object's own, never the global one: configuring twice in one process is fine. Incoming
`traceparent` metadata continues the caller's trace (W3C trace context).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from server.unary import is_unary, rewrap

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

OFF_MODES = (None, "", "off", "none")
_NOOP_SPAN: AbstractContextManager[Span] = nullcontext(trace.INVALID_SPAN)
#: Codes that mark a server span as an error (OpenTelemetry semantic conventions for gRPC).
_SERVER_ERROR_CODES = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


class Tracing:
    """Tracing of one server: `enabled`, the server interceptor, child spans, the trace id."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("vdist") if provider is not None else None

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded and exported."""
        return self._provider is not None

    def server_interceptor(self) -> grpc.ServerInterceptor | None:
        """opentelemetry-instrumentation-grpc's server interceptor on this provider, for
        unary-unary calls (streams such as health Watch and reflection pass through, unspanned),
        with the span's rpc.grpc.status_code and status taken from `context.code()` after an
        abort_with_status; None when off. Place it right after the metrics interceptor."""
        if self._provider is None:
            return None
        from opentelemetry.instrumentation.grpc import server_interceptor

        return _UnaryTracingInterceptor(server_interceptor(tracer_provider=self._provider))

    def span(self, name: str, **attributes: Any) -> AbstractContextManager[Span]:
        """A child span of the current one (`with tracing.span("solve", videos=3) as s:`);
        when off, a shared no-op context yielding a non-recording span (no allocation).
        Attribute values other than str, bool, int and float are recorded as str."""
        if self._tracer is None:
            return _NOOP_SPAN
        return self._tracer.start_as_current_span(
            name, attributes={k: _attribute(v) for k, v in attributes.items()}
        )

    def current_trace_id(self) -> str:
        """The current trace id as 32 hex digits; "" when off or outside any span."""
        if self._provider is None:
            return ""
        context = trace.get_current_span().get_span_context()
        return trace.format_trace_id(context.trace_id) if context.is_valid else ""

    def shutdown(self) -> None:
        """Flushes and stops the exporter (idempotent; nothing to do when off)."""
        if self._provider is not None:
            self._provider.shutdown()


def configure_tracing(
    mode: str | None,
    endpoint: str | None,
    service_name: str = "vdist",
    exporter: SpanExporter | None = None,
) -> Tracing:
    """Tracing as configured (see the module docstring); ValueError for an unknown mode."""
    normalized = mode.strip().lower() if mode else None
    if normalized not in (*OFF_MODES, "console", "otlp"):
        raise ValueError(f"tracing mode {mode!r} is none of off, console, otlp")
    if exporter is None and normalized in OFF_MODES and not endpoint:
        return Tracing(None)

    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif normalized == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return Tracing(provider)


def _attribute(value: Any) -> str | bool | int | float:
    return value if isinstance(value, str | bool | int | float) else str(value)


class _UnaryTracingInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Runs the OpenTelemetry interceptor on unary-unary handlers only, with the final status
    recorded on its span (it misses abort_with_status, which ErrorAndLogInterceptor uses)."""

    def __init__(self, inner: grpc.ServerInterceptor) -> None:
        self._inner = inner

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if not is_unary(handler):
            return handler
        assert handler is not None  # is_unary said so
        recorded = rewrap(handler, _record_status(handler.unary_unary))
        return self._inner.intercept_service(lambda _details: recorded, handler_call_details)


def _record_status(
    behaviour: Callable[[Any, grpc.ServicerContext], Any],
) -> Callable[[Any, grpc.ServicerContext], Any]:
    def call(request: Any, context: grpc.ServicerContext) -> Any:
        failed = True
        try:
            response = behaviour(request, context)
            failed = False
            return response
        finally:
            _set_span_status(trace.get_current_span(), context, failed=failed)

    return call


def _set_span_status(span: Span, context: grpc.ServicerContext, *, failed: bool) -> None:
    try:
        code = context.code()
    except Exception:  # a context without code(): keep what the instrumentation recorded
        return
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN if failed else None
    if code is None:
        return
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code in _SERVER_ERROR_CODES:
        span.set_status(Status(StatusCode.ERROR, code.name))
