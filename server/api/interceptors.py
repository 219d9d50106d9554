"""Server interceptors: status mapping for every error, and the access log.

Wrapping each unary handler once here keeps servicers free of try/except and `context.abort`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from server.api.actor import actor_of
from server.api.status import to_status

log = logging.getLogger("vdist.access")


class ErrorAndLogInterceptor(grpc.ServerInterceptor):
    """Maps exceptions to gRPC status (server.api.status) and logs one line per call."""

    def __init__(self, *, access_log: bool) -> None:
        self._access_log = access_log

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method  # type: ignore[attr-defined]
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, method: str, behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Any:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                return behaviour(request, context)
            except Exception as exc:
                status = to_status(exc)
                code = status.code
                context.abort_with_status(status)
            finally:
                if self._access_log:
                    log.info(
                        "%s %s %.1fms actor=%s peer=%s",
                        method,
                        code.name,
                        (time.perf_counter() - started) * 1000,
                        actor_of(context),
                        context.peer(),
                    )

        return call
