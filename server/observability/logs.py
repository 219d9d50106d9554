"""Logging set-up: text or JSON lines on standard error, credentials masked.

Call `configure_logging(settings.log_level, settings.log_format)` once at process start, in
the CLI (server/cli `main`, in place of `logging.basicConfig`), not in `create_server`: it
replaces the root logger's handlers, which in tests would remove pytest's capture handler.

Formats:
- "text": `<time> <LEVEL> <logger>: <message>` as before;
- "json": one object per line, `{"time": "2030-01-01T10:00:05.123Z", "level": "INFO",
  "logger": "vdist.access", "message": "...", "pid": 4242, ...}` plus, when given as
  `extra=` on the call, `method`, `code`, `duration_ms`, `principal`, `peer`, `request_id`
  and `trace_id` (missing, None or "" are left out), and `exc_info` (the traceback text)
  for exceptions.

The access log passes its fields as extras, e.g.::

    log.info(
        "%s %s %.1fms principal=%s peer=%s", method, code.name, ms, principal, peer,
        extra={"method": method, "code": code.name, "duration_ms": round(ms, 3),
               "principal": principal, "peer": peer, "request_id": request_id,
               "trace_id": tracing.current_trace_id()},
    )

Credentials: never log an `authorization` header, a token, a private key or a certificate;
pass the principal's name instead. As a safety net every handler installed here masks
`Bearer <token>`, `authorization: <value>` and PEM blocks (`-----BEGIN ...-----` to
`-----END ...-----`) in messages, string extras and tracebacks (`redact`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
#: Record attributes (set with `extra=`) copied into JSON lines, in this order.
EXTRA_FIELDS = ("method", "code", "duration_ms", "principal", "peer", "request_id", "trace_id")
MASK = "[REDACTED]"

_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*-----.*?(?:-----END [A-Z0-9 ]*-----|\Z)", re.DOTALL | re.IGNORECASE
)
_AUTHORIZATION = re.compile(
    r"""(authorization['"]?\s*[:=,]\s*\(?\s*['"]?)(?:bearer\s+)?[^\s'",)}\]]+""", re.IGNORECASE
)
_BEARER = re.compile(r"\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)


def redact(value: object) -> str:
    """`str(value)` with bearer tokens, authorization values and PEM blocks masked."""
    text = str(value)
    if "-----" in text:
        text = _PEM.sub("[REDACTED PEM]", text)
    lowered = text.lower()
    if "authorization" in lowered:
        text = _AUTHORIZATION.sub(lambda m: m.group(1) + MASK, text)
    if "bearer" in lowered:
        text = _BEARER.sub(lambda m: m.group(1) + " " + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks credentials (see `redact`) in a record's message, string extras and traceback.

    Installed on handlers (a logger's filters do not see records of its child loggers). The
    record is rewritten in place: `msg` becomes the masked final message, `args` empty.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": rfc3339(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            # Tells apart the processes of one `vdist serve --processes N`.
            "pid": record.process,
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is None or value == "":
                continue
            line[name] = getattr(value, "name", value) if name == "code" else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def rfc3339(created: float) -> str:
    """A record time as RFC 3339 UTC with milliseconds: 2030-01-01T10:00:05.123Z."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def configure_logging(level: str, fmt: str) -> None:
    """Replaces the root logger's handlers with one on standard error, in `fmt` ("text" or
    "json"), at `level` (a logging level name such as "INFO"). Idempotent: calling it again
    replaces the handler instead of adding one. ValueError for an unknown format or level."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r} is neither 'text' nor 'json'")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level {level!r} is not a logging level name")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
