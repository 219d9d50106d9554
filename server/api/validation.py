"""Request validation: every field is checked before anything is read or written.

A `Violations` collector gathers every bad field of a request, so one answer lists them all;
`raise_if_any` turns them into INVALID_ARGUMENT with BadRequest field violations.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import datetime

from server.usecases.errors import FieldViolation, InvalidArgument

CHANNEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
VIDEO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
DISTRIBUTION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
MAX_PAGE_SIZE = 1000
MAX_TEXT = 2000
# Timestamps far outside any schedule are typos (and overflow some databases' ranges).
MIN_TIME = datetime(1970, 1, 2).astimezone()
MAX_TIME = datetime(9999, 1, 1).astimezone()


class Violations:
    """Collects field violations; `raise_if_any` raises them as one InvalidArgument."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        """Records that `field` is bad."""
        self.items.append(FieldViolation(field, description))

    def check(self, ok: bool, field: str, description: str) -> bool:
        """Records a violation unless `ok`; returns `ok`."""
        if not ok:
            self.add(field, description)
        return ok

    def raise_if_any(self) -> None:
        """Raises InvalidArgument naming every recorded field."""
        if self.items:
            raise InvalidArgument(list(self.items))

    # --- reusable field checks ---

    def identifier(self, value: str, field: str, pattern: re.Pattern[str], kind: str) -> bool:
        """A required id matching `pattern`."""
        if not value:
            self.add(field, f"{kind} id is required")
            return False
        return self.check(bool(pattern.match(value)), field, f"{value!r} is not a valid {kind} id")

    def identifiers(
        self,
        values: Sequence[str],
        field: str,
        pattern: re.Pattern[str],
        kind: str,
        *,
        max_items: int,
        required: bool = False,
    ) -> None:
        """A list of unique ids, at most `max_items`."""
        if required and not values:
            self.add(field, f"at least one {kind} id is required")
        if len(values) > max_items:
            self.add(field, f"at most {max_items} ids, got {len(values)}")
            return
        for i, value in enumerate(values):
            self.identifier(value, f"{field}[{i}]", pattern, kind)
        if len(set(values)) != len(values):
            self.add(field, "ids must be unique")

    def non_negative(self, value: float, field: str) -> None:
        """A number >= 0."""
        self.check(value >= 0, field, f"must be >= 0, got {value}")

    def text(self, value: str, field: str, *, max_length: int = MAX_TEXT) -> None:
        """Free text of bounded length."""
        self.check(len(value) <= max_length, field, f"at most {max_length} characters")

    def page_size(self, value: int, field: str = "page_size") -> int:
        """A page size 0..MAX_PAGE_SIZE; returns the effective size (0 -> 100)."""
        self.check(0 <= value <= MAX_PAGE_SIZE, field, f"must be between 0 and {MAX_PAGE_SIZE}")
        return value or 100

    def timestamp(self, message: object, field: str, path: str) -> None:
        """A set Timestamp inside a sane range."""
        if not message.HasField(field):  # type: ignore[attr-defined]
            return
        ts = getattr(message, field)
        ok = 0 <= ts.nanos < 1_000_000_000 and MIN_TIME.timestamp() <= ts.seconds
        self.check(ok and ts.seconds < MAX_TIME.timestamp(), path, "timestamp out of range")

    def timezone(self, value: str, field: str) -> None:
        """An IANA timezone name known to this server's tz database."""
        if not value:
            self.add(field, "timezone is required (an IANA name such as 'Europe/Berlin')")
            return
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.add(field, f"{value!r} is not an IANA timezone")

    def languages(self, values: Iterable[str], field: str) -> None:
        """BCP 47-looking language tags."""
        for i, value in enumerate(values):
            self.check(bool(LANGUAGE.match(value)), f"{field}[{i}]", f"{value!r} is no language")


def validate_request_id(value: str, v: Violations) -> None:
    """An optional idempotency key of printable ASCII."""
    if value:
        v.check(bool(REQUEST_ID.match(value)), "request_id", "1-128 printable ASCII characters")


def only_id(value: str, field: str, pattern: re.Pattern[str], kind: str) -> str:
    """The id of a request that names one resource and nothing else, or INVALID_ARGUMENT."""
    v = Violations()
    v.identifier(value, field, pattern, kind)
    v.raise_if_any()
    return value
