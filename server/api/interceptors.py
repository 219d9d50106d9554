"""Server interceptors: request decoding, status mapping for every error, and the access log.

Wrapping each unary handler once here keeps servicers free of try/except and `context.abort`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from server.api.access import current_audit, current_principal
from server.api.actor import actor_label
from server.api.status import to_status
from server.api.validation import refuse_nul
from server.unary import Behaviour, UnaryInterceptor
from server.usecases.errors import InvalidArgument

log = logging.getLogger("vdist.access")


@dataclass(frozen=True)
class _Undecodable:
    """Request bytes that do not parse as the method's request message."""

    error: str


class ErrorAndLogInterceptor(UnaryInterceptor):
    """Decodes requests (bytes that do not parse answer INVALID_ARGUMENT, not INTERNAL),
    refuses NUL characters in any string, maps exceptions to gRPC status (server.api.status)
    and logs one line per call."""

    def __init__(self, *, access_log: bool, trace_id: Callable[[], str] | None = None) -> None:
        self._access_log = access_log
        self._trace_id = trace_id or (lambda: "")

    def deserializer(
        self, deserializer: Callable[[bytes], Any] | None
    ) -> Callable[[bytes], Any] | None:
        """The handler's deserializer, answering _Undecodable for bytes it cannot parse."""
        return _tolerant(deserializer)

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            # A fresh principal and audit for this call (threads serve many calls in turn).
            principal_token = current_principal.set(None)
            audit_token = current_audit.set({})
            try:
                if isinstance(request, _Undecodable):
                    raise InvalidArgument.one("", f"the request does not parse: {request.error}")
                if isinstance(request, Message):
                    refuse_nul(request)
                return behaviour(request, context)
            except Exception as exc:
                status = to_status(exc)
                code = status.code
                context.abort_with_status(status)
            finally:
                if self._access_log:
                    self._log(method, code, started, request, context)
                current_principal.reset(principal_token)
                current_audit.reset(audit_token)

        return call

    def _log(
        self,
        method: str,
        code: grpc.StatusCode,
        started: float,
        request: Any,
        context: grpc.ServicerContext,
    ) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        principal = actor_label(context)
        request_id = getattr(request, "request_id", "") if isinstance(request, Message) else ""
        log.info(
            "%s %s %.1fms actor=%s peer=%s",
            method,
            code.name,
            elapsed_ms,
            principal,
            context.peer(),
            # Structured fields for VDIST_LOG_FORMAT=json (never credentials).
            extra={
                "method": method,
                "code": code.name,
                "duration_ms": round(elapsed_ms, 3),
                "principal": principal,
                "peer": context.peer(),
                "request_id": request_id,
                "trace_id": self._trace_id(),
            },
        )


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """`deserializer`, answering an _Undecodable for bytes it cannot parse (grpcio would answer
    INTERNAL for an exception here, before any interceptor code runs)."""
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, ValueError, RuntimeError) as exc:
            return _Undecodable(str(exc)[:200])

    return decode
