"""Who is calling: the `x-vdist-actor` request metadata, recorded with every decision."""

from __future__ import annotations

import grpc

from server.usecases.errors import InvalidArgument

ACTOR_METADATA_KEY = "x-vdist-actor"
ANONYMOUS = "anonymous"
#: The width of every stored actor column.
MAX_ACTOR = 128


def actor_of(context: grpc.ServicerContext) -> str:
    """The `x-vdist-actor` metadata value, else 'anonymous'; INVALID_ARGUMENT when it is
    longer than MAX_ACTOR characters (it would not fit the audit trail)."""
    actor = _header(context)
    if len(actor) > MAX_ACTOR:
        raise InvalidArgument.one(
            ACTOR_METADATA_KEY, f"at most {MAX_ACTOR} characters, got {len(actor)}"
        )
    return actor or ANONYMOUS


def actor_label(context: grpc.ServicerContext) -> str:
    """The actor for the access log: never fails, cut to MAX_ACTOR characters."""
    return (_header(context) or ANONYMOUS)[:MAX_ACTOR]


def _header(context: grpc.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == ACTOR_METADATA_KEY and isinstance(value, str) and value.strip():
            return value.strip()
    return ""
