"""configure_logging: JSON lines with extras, the text format, credentials masked."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime

import pytest

from server.observability.logs import configure_logging, redact

PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----"
)
TOKEN = "s3cr3t-T0ken.value_with~chars"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Root handlers and level restored after the test; the new handler writes to a buffer."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def capture(buffer: io.StringIO, level: str, fmt: str) -> None:
    configure_logging(level, fmt)
    handlers = logging.getLogger().handlers
    assert len(handlers) == 1
    assert isinstance(handlers[0], logging.StreamHandler)
    handlers[0].setStream(buffer)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_with_extras(output: io.StringIO) -> None:
    capture(output, "INFO", "json")
    log = logging.getLogger("vdist.access")
    log.info(
        "%s %s",
        "/distribution.v1.DistributionService/Assign",
        "OK",
        extra={
            "method": "/distribution.v1.DistributionService/Assign",
            "code": "OK",
            "duration_ms": 3.1,
            "principal": "alice",
            "peer": "ipv4:10.0.0.7:35714",
            "request_id": "r-1",
            "trace_id": "",
        },
    )
    log.debug("not at INFO")
    logging.getLogger("other").warning("plain")
    first, second = lines(output)
    assert first["level"] == "INFO" and first["logger"] == "vdist.access"
    assert first["message"] == "/distribution.v1.DistributionService/Assign OK"
    assert first["method"] == "/distribution.v1.DistributionService/Assign"
    assert first["code"] == "OK" and first["duration_ms"] == 3.1
    assert first["principal"] == "alice" and first["peer"] == "ipv4:10.0.0.7:35714"
    assert first["request_id"] == "r-1"
    assert "trace_id" not in first  # empty: left out
    time = str(first["time"])
    assert time.endswith("Z") and datetime.fromisoformat(time).utcoffset().total_seconds() == 0
    assert second == {
        "time": second["time"],
        "level": "WARNING",
        "logger": "other",
        "message": "plain",
        "pid": os.getpid(),
    }


def test_json_exception_as_text_field(output: io.StringIO) -> None:
    capture(output, "INFO", "json")
    try:
        raise RuntimeError(f"failed with Bearer {TOKEN}")
    except RuntimeError:
        logging.getLogger("server.api.status").exception("unexpected error")
    (line,) = lines(output)
    assert line["level"] == "ERROR" and line["message"] == "unexpected error"
    assert "Traceback" in str(line["exc_info"]) and "RuntimeError" in str(line["exc_info"])
    assert TOKEN not in output.getvalue()


def test_credentials_are_masked(output: io.StringIO) -> None:
    capture(output, "INFO", "json")
    log = logging.getLogger("leaky")
    log.info("metadata: %s", [("authorization", f"Bearer {TOKEN}"), ("x-vdist-actor", "bob")])
    log.info("header Authorization: %s", TOKEN)
    log.info("key material:\n%s\nend", PEM)
    log.info("call", extra={"peer": f"bearer {TOKEN}", "principal": "alice"})
    text = output.getvalue()
    assert TOKEN not in text and "MIIEvQ" not in text
    first, second, third, fourth = lines(output)
    assert "x-vdist-actor" in str(first["message"]) and "bob" in str(first["message"])
    assert "[REDACTED]" in str(second["message"])
    assert third["message"] == "key material:\n[REDACTED PEM]\nend"
    assert fourth["peer"] == "bearer [REDACTED]" and fourth["principal"] == "alice"


def test_text_format_and_idempotence(output: io.StringIO) -> None:
    configure_logging("DEBUG", "json")
    capture(output, "warning", "text")  # replaces, never adds
    logging.getLogger("server.app").info("hidden at WARNING")
    logging.getLogger("server.app").warning("token Bearer %s here", TOKEN)
    (line,) = output.getvalue().splitlines()
    assert line.endswith(" WARNING server.app: token Bearer [REDACTED] here")
    assert logging.getLogger().level == logging.WARNING


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        configure_logging("INFO", "xml")
    with pytest.raises(ValueError):
        configure_logging("LOUD", "text")


def test_redact() -> None:
    assert redact(f"Authorization: Bearer {TOKEN}") == "Authorization: [REDACTED]"
    assert redact(f"{{'authorization': '{TOKEN}'}}") == "{'authorization': '[REDACTED]'}"
    assert redact("-----BEGIN RSA PRIVATE KEY-----\nabc") == "[REDACTED PEM]"
    assert redact("no secrets, 42") == "no secrets, 42"
    assert redact(42) == "42"
