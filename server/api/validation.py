"""Request validation: every field is parsed and checked before anything uses it.

One rule: a value is accepted only if every later use of it accepts it, so each kind of value
has one parser shared by validation and by its consumer (ids by `fullmatch`, HH:MM and time
zones by `allocator.calendar`, source URLs by `usecases.sources`), and every string and
repeated field has a bound no larger than what stores it. Checks that read a value return it
parsed (`time`, `duration`), so nothing converts a value that was never checked.

A `Violations` collector gathers the bad fields of a request, so one answer lists them all;
`raise_if_any` turns them into INVALID_ARGUMENT with BadRequest field violations. Messages
quote at most QUOTE_CHARS characters of a value and list at most MAX_VIOLATIONS fields, so an
answer stays small whatever the request held.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message

from allocator import calendar
from server.usecases.errors import FieldViolation, InvalidArgument

CHANNEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: A quota pool id follows the channel id rules.
POOL_ID = CHANNEL_ID
VIDEO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
DISTRIBUTION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
#: BCP 47-looking tags, at most 35 characters (the stored column's width).
LANGUAGE = re.compile(r"(?=.{2,35}\Z)[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", re.ASCII)
MAX_LANGUAGE = 35
MAX_TIMEZONE = 64
MAX_PAGE_SIZE = 1000
MAX_TEXT = 2000
QUOTE_CHARS = 100
MAX_VIOLATIONS = 20
# Timestamps far outside any schedule are typos (and overflow some databases' ranges).
MIN_TIME = datetime(1970, 1, 2, tzinfo=UTC)
MAX_TIME = datetime(9999, 1, 1, tzinfo=UTC)
_NANOS = 1_000_000_000


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)`, cut to about `limit` characters with the full length said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, str | bytes | Sequence) else len(text)
    return f"{text[:limit]}... ({size} characters)"


class Violations:
    """Collects field violations; `raise_if_any` raises them as one InvalidArgument."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []
        self._more = 0

    def add(self, field: str, description: str) -> None:
        """Records that `field` is bad."""
        if len(self.items) < MAX_VIOLATIONS:
            self.items.append(FieldViolation(field, description))
        else:
            self._more += 1

    def check(self, ok: bool, field: str, description: str) -> bool:
        """Records a violation unless `ok`; returns `ok`."""
        if not ok:
            self.add(field, description)
        return ok

    def raise_if_any(self) -> None:
        """Raises InvalidArgument naming every recorded field (the first MAX_VIOLATIONS)."""
        if self._more:
            self.items.append(FieldViolation("", f"and {self._more} more violations"))
            self._more = 0
        if self.items:
            raise InvalidArgument(list(self.items))

    # --- reusable field checks ---

    def identifier(self, value: str, field: str, pattern: re.Pattern[str], kind: str) -> bool:
        """A required id matching all of `pattern`."""
        if not value:
            self.add(field, f"{kind} id is required")
            return False
        return self.check(
            pattern.fullmatch(value) is not None, field, f"{quote(value)} is not a valid {kind} id"
        )

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
        if not self.items_at_most(values, field, max_items):
            return
        for i, value in enumerate(values):
            self.identifier(value, f"{field}[{i}]", pattern, kind)
        if len(set(values)) != len(values):
            self.add(field, "ids must be unique")

    def items_at_most(self, values: Sequence[Any], field: str, max_items: int) -> bool:
        """A repeated field of at most `max_items` elements."""
        return self.check(
            len(values) <= max_items, field, f"at most {max_items} items, got {len(values)}"
        )

    def non_negative(self, value: float, field: str) -> None:
        """A number >= 0 (NaN is not)."""
        self.check(value >= 0, field, f"must be >= 0, got {value}")

    def in_range(self, value: float, low: float, high: float, field: str) -> bool:
        """A finite number in [low, high]."""
        return self.check(
            math.isfinite(value) and low <= value <= high,
            field,
            f"must be between {low:g} and {high:g}, got {value}",
        )

    def text(self, value: str, field: str, *, max_length: int = MAX_TEXT) -> None:
        """Free text of bounded length."""
        self.check(len(value) <= max_length, field, f"at most {max_length} characters")

    def page_size(self, value: int, field: str = "page_size") -> int:
        """A page size 0..MAX_PAGE_SIZE; returns the effective size (0 -> 100)."""
        self.check(0 <= value <= MAX_PAGE_SIZE, field, f"must be between 0 and {MAX_PAGE_SIZE}")
        return value or 100

    def time(self, message: Any, field: str, path: str) -> datetime | None:
        """A set Timestamp inside [MIN_TIME, MAX_TIME) as an aware datetime; None when unset or
        out of range (then recorded as a violation)."""
        if not message.HasField(field):
            return None
        ts = getattr(message, field)
        ok = 0 <= ts.nanos < _NANOS and MIN_TIME.timestamp() <= ts.seconds < MAX_TIME.timestamp()
        if not self.check(ok, path, "timestamp out of range (years 1970-9998, nanos 0-999999999)"):
            return None
        return ts.ToDatetime(tzinfo=UTC)

    def duration(
        self, message: Any, field: str, path: str, *, maximum: timedelta
    ) -> timedelta | None:
        """A Duration in [0, maximum] as a timedelta; None when unset or out of range."""
        if not message.HasField(field):
            return None
        d = getattr(message, field)
        ok = 0 <= d.seconds <= maximum.total_seconds() and 0 <= d.nanos < _NANOS
        if ok and d.ToTimedelta() <= maximum:
            return d.ToTimedelta()
        self.add(path, f"must be between 0s and {int(maximum.total_seconds())}s")
        return None

    def timezone(self, value: str, field: str) -> None:
        """An IANA timezone name that the calendar accepts."""
        if not value:
            self.add(field, "timezone is required (an IANA name such as 'Europe/Berlin')")
            return
        if not self.check(len(value) <= MAX_TIMEZONE, field, f"at most {MAX_TIMEZONE} characters"):
            return
        try:
            calendar.zone(value, field)
        except calendar.CalendarError:
            self.add(field, f"{quote(value)} is not an IANA timezone")

    def local_time(self, value: str, field: str) -> None:
        """A local time that the calendar accepts: strict ASCII HH:MM, 00:00..23:59."""
        try:
            calendar.parse_local_time(value, field)
        except calendar.CalendarError:
            self.add(field, f"{quote(value)} is not a local time HH:MM between 00:00 and 23:59")

    def language(self, value: str, field: str) -> bool:
        """One BCP 47-looking language tag of at most MAX_LANGUAGE characters."""
        return self.check(
            LANGUAGE.fullmatch(value) is not None, field, f"{quote(value)} is not a language tag"
        )

    def languages(self, values: Iterable[str], field: str) -> None:
        """BCP 47-looking language tags."""
        for i, value in enumerate(values):
            self.language(value, f"{field}[{i}]")


def validate_request_id(value: str, v: Violations) -> None:
    """An optional idempotency key of printable ASCII."""
    if value:
        v.check(
            REQUEST_ID.fullmatch(value) is not None,
            "request_id",
            "1-128 printable ASCII characters",
        )


def only_id(value: str, field: str, pattern: re.Pattern[str], kind: str) -> str:
    """The id of a request that names one resource and nothing else, or INVALID_ARGUMENT."""
    v = Violations()
    v.identifier(value, field, pattern, kind)
    v.raise_if_any()
    return value


def refuse_nul(message: Message) -> None:
    """INVALID_ARGUMENT naming every string field (map keys included) that holds a NUL
    character, which PostgreSQL text cannot store; runs before any other check."""
    v = Violations()
    _scan_nul(message, "", v)
    v.raise_if_any()


def _scan_nul(message: Message, prefix: str, v: Violations) -> None:
    for descriptor, value in message.ListFields():
        path = prefix + descriptor.name
        if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(key, str) and "\x00" in key:
                    v.add(f"{path}", "map key holds a NUL character")
                if isinstance(item, Message):
                    _scan_nul(item, f"{path}[{key}].", v)
                elif isinstance(item, str) and "\x00" in item:
                    v.add(f"{path}[{key}]", "holds a NUL character")
        elif descriptor.type == descriptor.TYPE_STRING:
            items = value if _repeated(descriptor) else [value]
            for i, item in enumerate(items):
                if "\x00" in item:
                    where = f"{path}[{i}]" if _repeated(descriptor) else path
                    v.add(where, "holds a NUL character")
        elif descriptor.type == descriptor.TYPE_MESSAGE:
            items = value if _repeated(descriptor) else [value]
            for i, item in enumerate(items):
                where = f"{path}[{i}]." if _repeated(descriptor) else f"{path}."
                _scan_nul(item, where, v)


def _repeated(descriptor: Any) -> bool:
    return bool(descriptor.is_repeated)
