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
from typing import Any

from server.errors import InvalidArgument

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
