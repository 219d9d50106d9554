"""What can go wrong on the command line, as one line of text and an exit code.

`vdist` never shows a traceback for these (only with `vdist --debug ...`): `describe` maps
each known exception to a message and an exit code, and `server.cli.main` prints it as
`vdist <command>: <message>` on standard error.

Exit codes: 0 success, 1 a call or the work failed (server or database unreachable, an error
answer), 2 the command line or the configuration is wrong (flags, environment, files),
130 interrupted.
"""

from __future__ import annotations

import argparse
import re
import sys

import grpc

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Details grpcio writes when the client never got an answer (as opposed to a server saying
# UNAVAILABLE, e.g. because its database is down).
_TRANSPORT_WORDS = (
    "failed to connect",
    "connection refused",
    "dns resolution failed",
    "socket closed",
    "connections to all backends failing",
    "empty address list",
    "name resolution",
    "handshake",
)


class CliError(Exception):
    """A failure already worded for a person; `exit_code` says what kind."""

    exit_code = EXIT_FAILED


class UsageError(CliError):
    """The command line or the configuration is wrong."""

    exit_code = EXIT_USAGE


class ServerUnreachable(CliError):
    """No vdist server answered at the target."""

    def __init__(self, target: str, why: str) -> None:
        super().__init__(f"cannot reach vdist at {target}: {why}")


def one_line(text: object) -> str:
    """`text` with every run of whitespace (newlines too) as one space."""
    return re.sub(r"\s+", " ", str(text)).strip()


def is_transport_failure(exc: grpc.RpcError) -> bool:
    """Whether an UNAVAILABLE came from the connection rather than from a server's answer."""
    if exc.code() != grpc.StatusCode.UNAVAILABLE:
        return False
    details = (exc.details() or "").lower()
    return not details or any(word in details for word in _TRANSPORT_WORDS)


def rpc_message(exc: grpc.RpcError, target: str | None) -> str:
    """`CODE: details`, or "cannot reach vdist at <target>" when nothing answered."""
    details = one_line(exc.details() or "")
    if target and is_transport_failure(exc):
        return f"cannot reach vdist at {target}: {details or 'no answer'}"
    return f"{exc.code().name}: {details}" if details else exc.code().name


def _types(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """Exception classes of `module` if it is imported (else nothing raised them)."""
    found = sys.modules.get(module)
    return tuple(getattr(found, name) for name in names) if found is not None else ()


def describe(exc: BaseException, args: argparse.Namespace) -> tuple[str, int]:
    """The one-line message and exit code for `exc` raised by the command `args` describe."""
    if isinstance(exc, CliError):
        return one_line(exc), exc.exit_code
    config_errors = (
        *_types("server.app", "CannotListen"),
        *_types("server.api.transport", "UnsafeExposure"),
        *_types("server.api.access", "PrincipalsFileError"),
        *_types("server.cli.connect", "ConnectionSettingsError"),
        *_types("sqlalchemy.exc", "NoSuchModuleError", "ArgumentError"),
    )
    if isinstance(exc, config_errors):
        return one_line(exc), EXIT_USAGE
    if isinstance(exc, _types("server.processes", "GroupFailed")):
        return one_line(exc), EXIT_FAILED
    if isinstance(exc, grpc.RpcError):
        return rpc_message(exc, getattr(args, "target", None)), EXIT_FAILED
    if isinstance(exc, _types("sqlalchemy.exc", "DBAPIError")):
        url = getattr(args, "resolved_database_url", "") or "the database"
        orig = getattr(exc, "orig", None) or exc
        text = str(orig).strip()
        first = text.splitlines()[0] if text else type(orig).__name__
        return f"cannot use the database {url}: {one_line(first)}", EXIT_FAILED
    return (
        f"unexpected {type(exc).__name__}: {one_line(exc)} (vdist --debug "
        f"{getattr(args, 'command', '')} ... shows the traceback)",
        EXIT_FAILED,
    )
