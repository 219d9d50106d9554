"""The domain error hierarchy. Use cases raise these; `server.api.status` maps them to gRPC status.

Each error says which field or resource is at fault, so that a caller by hand can see
what to change without reading the server log.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: its path (e.g. `channel.schedule.slots[0].local_time`) and why."""

    field: str
    description: str


class VdistError(Exception):
    """Base of every foreseeable failure; `reason` is a stable UPPER_SNAKE code for ErrorInfo."""

    reason = "ERROR"

    def __init__(self, message: str, *, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = metadata or {}


class InvalidArgument(VdistError):
    """The request is malformed; `violations` names every bad field."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation]) -> None:
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(f"invalid request: {summary}")
        self.violations = violations

    @classmethod
    def one(cls, field: str, description: str) -> InvalidArgument:
        """An error for a single bad field."""
        return cls([FieldViolation(field, description)])


class NotFound(VdistError):
    """A named resource does not exist."""

    reason = "NOT_FOUND"

    def __init__(self, kind: str, name: str, *, field: str = "") -> None:
        super().__init__(f"{kind} {name!r} not found", metadata={"kind": kind, "name": name})
        self.field = field


class AlreadyExists(VdistError):
    """The resource exists already."""

    reason = "ALREADY_EXISTS"


class FailedPrecondition(VdistError):
    """The system is not in a state in which the call makes sense (e.g. a stale lease)."""

    reason = "FAILED_PRECONDITION"


class Aborted(VdistError):
    """Lost a race with a concurrent call; retrying the call is safe."""

    reason = "ABORTED"


class ResourceExhausted(VdistError):
    """The request is too large."""

    reason = "RESOURCE_EXHAUSTED"


class Unavailable(VdistError):
    """The database cannot be reached; retry later."""

    reason = "UNAVAILABLE"


class DeadlineExceeded(VdistError):
    """The call ran out of time before anything was written."""

    reason = "DEADLINE_EXCEEDED"


class Unauthenticated(VdistError):
    """The call carries no credentials, or unknown ones; the message says how to authenticate."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(VdistError):
    """The caller is known, but its role may not make this call."""

    reason = "PERMISSION_DENIED"
