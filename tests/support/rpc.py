"""Calling RPCs that must fail, and reading their google.rpc details."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass
class RpcFailure:
    """What a failed call answered: code, message, ErrorInfo reason and violated fields."""

    code: grpc.StatusCode
    message: str
    reason: str
    fields: list[str]


def expect_error(
    code: grpc.StatusCode, method: Callable[..., Any], *args: Any, **kw: Any
) -> RpcFailure:
    """Calls `method`, asserts it fails with `code`, and returns the decoded failure."""
    try:
        method(*args, **kw)
    except grpc.RpcError as exc:
        assert exc.code() == code, f"expected {code}, got {exc.code()}: {exc.details()}"
        status = rpc_status.from_call(exc)
        reason, fields = "", []
        for detail in status.details if status else []:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields = [v.field for v in bad.field_violations]
        assert status is not None, "a failure must carry google.rpc.Status details"
        assert reason, "a failure must carry ErrorInfo"
        return RpcFailure(exc.code(), exc.details() or "", reason, fields)
    raise AssertionError(f"expected {code}, but the call succeeded")
