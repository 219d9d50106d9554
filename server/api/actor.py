"""Who is calling: the `x-vdist-actor` request metadata, recorded with every decision."""

from __future__ import annotations

import grpc

ACTOR_METADATA_KEY = "x-vdist-actor"
ANONYMOUS = "anonymous"


def actor_of(context: grpc.ServicerContext) -> str:
    """The `x-vdist-actor` metadata value (at most 128 characters), else 'anonymous'."""
    for key, value in context.invocation_metadata() or ():
        if key == ACTOR_METADATA_KEY and isinstance(value, str) and value.strip():
            return value.strip()[:128]
    return ANONYMOUS
