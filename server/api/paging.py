"""Opaque, signed page tokens.

A token carries the listing it belongs to, a hash of the request's filters and the last key
of the page, signed with HMAC-SHA256. A forged, truncated or reused-with-other-filters token
answers INVALID_ARGUMENT on page_token instead of a wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.usecases.errors import InvalidArgument

_SIG_BYTES = 16


class PageTokens:
    """Encodes and verifies keyset-pagination cursors."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def encode(self, listing: str, filters: dict[str, Any], cursor: list[Any]) -> str:
        """A token that resumes `listing` with `filters` after `cursor`."""
        body = json.dumps(
            {"l": listing, "f": _digest(filters), "c": cursor}, separators=(",", ":")
        ).encode()
        sig = hmac.new(self._key, body, hashlib.sha256).digest()[:_SIG_BYTES]
        return base64.urlsafe_b64encode(sig + body).decode().rstrip("=")

    def decode(self, token: str, listing: str, filters: dict[str, Any]) -> list[Any] | None:
        """The cursor in `token`, None for an empty token; InvalidArgument when it is forged."""
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise _invalid() from None
        sig, body = raw[:_SIG_BYTES], raw[_SIG_BYTES:]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()[:_SIG_BYTES]
        if len(sig) != _SIG_BYTES or not hmac.compare_digest(sig, expected):
            raise _invalid()
        payload = json.loads(body)
        if payload.get("l") != listing or payload.get("f") != _digest(filters):
            raise InvalidArgument.one(
                "page_token", "token belongs to another listing or other filters"
            )
        cursor = payload.get("c")
        if not isinstance(cursor, list):
            raise _invalid()
        return cursor


def _digest(filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _invalid() -> InvalidArgument:
    return InvalidArgument.one("page_token", "not a page token issued by this service")


@dataclass(frozen=True)
class Listing:
    """A paged listing: its name (a token of one listing is refused by another) and its key.

    `time_key` names the timestamp column of a (time, id) key; None means the key is the id.
    """

    name: str
    time_key: str | None = None

    def key_of(self, row: Any) -> list[Any]:
        """The key of `row` as it is written into a token."""
        if self.time_key is None:
            return [row.id]
        return [getattr(row, self.time_key).isoformat(), row.id]

    def parse_key(self, cursor: list[Any]) -> tuple[Any, ...]:
        """The typed key of a token's cursor; InvalidArgument when it is malformed."""
        try:
            if self.time_key is None:
                if len(cursor) != 1 or not isinstance(cursor[0], str):
                    raise ValueError(cursor)
                return (cursor[0],)
            return (datetime.fromisoformat(cursor[0]), cursor[1])
        except (IndexError, TypeError, ValueError):
            raise InvalidArgument.one("page_token", "malformed cursor") from None


@dataclass(frozen=True)
class PageQuery:
    """One page of a listing: where it starts (after `after`), its size and the filters that
    its tokens are bound to."""

    listing: Listing
    filters: dict[str, Any]
    after: tuple[Any, ...] | None
    size: int

    def next_token(self, tokens: PageTokens, rows: list[Any], more: bool) -> str:
        """The token of the page after `rows`, or '' when none follows."""
        if not more or not rows:
            return ""
        return tokens.encode(self.listing.name, self.filters, self.listing.key_of(rows[-1]))


def page_query(
    tokens: PageTokens, listing: Listing, filters: dict[str, Any], size: int, token: str
) -> PageQuery:
    """The page a request asks for; its page size was validated with the other fields."""
    cursor = tokens.decode(token, listing.name, filters)
    after = None if cursor is None else listing.parse_key(cursor)
    return PageQuery(listing, filters, after, size)
