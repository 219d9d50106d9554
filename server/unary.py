"""The one pattern every server interceptor of vdist shares: wrap the behaviour of unary-unary
handlers and pass every other handler (health Watch, reflection streams) through untouched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

#: What a unary-unary handler does with a request.
Behaviour = Callable[[Any, grpc.ServicerContext], Any]


class UnaryInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Base of the interceptors: subclasses implement `wrap(method, behaviour)`."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        if not is_unary(handler):
            return self.other(method, handler)
        assert handler is not None  # is_unary said so
        return rewrap(
            handler,
            self.wrap(method, handler.unary_unary),
            request_deserializer=self.deserializer(handler.request_deserializer),
        )

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        """The behaviour that replaces `behaviour` for calls of `method` (full name)."""
        raise NotImplementedError

    def deserializer(
        self, deserializer: Callable[[bytes], Any] | None
    ) -> Callable[[bytes], Any] | None:
        """The request deserializer to use (the handler's own unless overridden)."""
        return deserializer

    def other(
        self, method: str, handler: grpc.RpcMethodHandler | None
    ) -> grpc.RpcMethodHandler | None:
        """What to do with a handler that is not unary-unary (or missing): pass it through."""
        return handler


def is_unary(handler: grpc.RpcMethodHandler | None) -> bool:
    """Whether `handler` is a unary-unary handler."""
    return (
        handler is not None
        and not handler.request_streaming
        and not handler.response_streaming
        and handler.unary_unary is not None
    )


def rewrap(
    handler: grpc.RpcMethodHandler,
    behaviour: Behaviour,
    *,
    request_deserializer: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler:
    """A unary-unary handler like `handler`, doing `behaviour`."""
    return grpc.unary_unary_rpc_method_handler(
        behaviour,
        request_deserializer=request_deserializer or handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
