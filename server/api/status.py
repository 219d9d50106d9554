"""One place that turns exceptions into gRPC status with google.rpc details.

Domain errors become their own code with ErrorInfo (and BadRequest field violations for
INVALID_ARGUMENT). Database failures by their kind (persistence.faults): a lost race ABORTED
(retrying is safe), an unreachable or overloaded database UNAVAILABLE (retry later), and a
statement the database refuses for good INTERNAL, logged with its cause, because validation
should have refused the request first. Anything else is a bug: logged with its traceback and
answered INTERNAL without leaking internals.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from persistence.faults import Fault, classify
from server.usecases import errors

log = logging.getLogger(__name__)
DOMAIN = "vdist.distribution.v1"

_CODES: dict[type[errors.VdistError], int] = {
    errors.InvalidArgument: code_pb2.INVALID_ARGUMENT,
    errors.NotFound: code_pb2.NOT_FOUND,
    errors.AlreadyExists: code_pb2.ALREADY_EXISTS,
    errors.FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    errors.Aborted: code_pb2.ABORTED,
    errors.ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
    errors.Unavailable: code_pb2.UNAVAILABLE,
    errors.DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
    errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
    errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
}


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_status(exc: BaseException) -> grpc.Status:
    """The gRPC status (with details) that answers a call which raised `exc`."""
    if not isinstance(exc, errors.VdistError):
        exc = _translate(exc)
    code = next(c for cls, c in _CODES.items() if isinstance(exc, cls))
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=exc.reason, domain=DOMAIN, metadata=exc.metadata))
    ]
    if isinstance(exc, errors.InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in exc.violations
            ]
        )
        details.append(_pack(bad_request))
    return rpc_status.to_status(status_pb2.Status(code=code, message=exc.message, details=details))


class UnexpectedError(errors.VdistError):
    """A bug: answered as INTERNAL."""

    reason = "INTERNAL"


_CODES[UnexpectedError] = code_pb2.INTERNAL


def _translate(exc: BaseException) -> errors.VdistError:
    fault = classify(exc)
    if fault is Fault.CONFLICT:
        return errors.Aborted("a concurrent call changed the same rows; retry")
    if fault is Fault.UNREACHABLE:
        log.warning("database unavailable: %s", exc)
        return errors.Unavailable("the database is unavailable; retry later")
    if fault is Fault.REFUSED:
        log.error("the database refused a statement", exc_info=exc)
    else:
        log.error("unexpected error", exc_info=exc)
    return UnexpectedError("internal error; see the server log")
