"""Source URL normalisation: two spellings of one video's URL must compare equal.

Scheme and host are lower-cased, default ports and fragments dropped, tracking parameters
(utm_*, fbclid, gclid, ...) removed, the remaining query sorted, and a trailing slash dropped.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_",)
_TRACKING_KEYS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "si", "ref", "ref_src"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Longest source URL: the (source_url, channel_id) unique index must fit a PostgreSQL btree row.
MAX_SOURCE_URL = 2048


class InvalidSourceUrl(ValueError):
    """The value is not an absolute http(s) URL."""


def normalize_source_url(url: str) -> str:
    """The canonical form of `url`; raises InvalidSourceUrl when it is no http(s) URL or is
    longer than MAX_SOURCE_URL bytes (before or after normalising)."""
    if len(url.encode()) > MAX_SOURCE_URL:
        raise InvalidSourceUrl(f"longer than {MAX_SOURCE_URL} bytes")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidSourceUrl(f"not a URL: {exc}") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or " " in url.strip():
        raise InvalidSourceUrl("not an absolute http(s) URL")
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _TRACKING_KEYS and not k.lower().startswith(_TRACKING_PREFIXES)
    )
    path = parts.path.rstrip("/")
    normalized = urlunsplit((scheme, netloc, path, urlencode(query), ""))
    if len(normalized.encode()) > MAX_SOURCE_URL:
        raise InvalidSourceUrl(f"longer than {MAX_SOURCE_URL} bytes once normalised")
    return normalized
