"""Who is calling, as recorded with every decision.

With access control on, the actor is the authenticated principal's name, and an
`x-vdist-actor` header is recorded beside it as on-behalf-of (decision details
`on_behalf_of`, see `access.current_audit`), never instead of it. With access open (no tokens
file), the header names the actor, as it always did, and callers without one are 'anonymous'.
"""

from __future__ import annotations

import grpc

from server.api.access import ACTOR_METADATA_KEY, MAX_ACTOR, actor_header, current_principal
from server.usecases.errors import InvalidArgument

ANONYMOUS = "anonymous"


def actor_of(context: grpc.ServicerContext) -> str:
    """The principal's name, else the `x-vdist-actor` header, else 'anonymous'.

    INVALID_ARGUMENT when the header is longer than MAX_ACTOR characters (it would not fit the
    audit trail)."""
    header = actor_header(context)
    if len(header) > MAX_ACTOR:
        raise InvalidArgument.one(
            ACTOR_METADATA_KEY, f"at most {MAX_ACTOR} characters, got {len(header)}"
        )
    principal = current_principal.get()
    if principal is not None:
        return principal.name
    return header or ANONYMOUS


def principal_name(context: grpc.ServicerContext) -> str | None:
    """The authenticated principal's name, None when access is open."""
    principal = current_principal.get()
    return principal.name if principal is not None else None


def actor_label(context: grpc.ServicerContext) -> str:
    """The actor for the access log: never fails, cut to MAX_ACTOR characters."""
    principal = current_principal.get()
    if principal is not None:
        return principal.name
    return (actor_header(context) or ANONYMOUS)[:MAX_ACTOR]
