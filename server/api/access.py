"""Who may do what: principals from bearer tokens or client certificates, and the role table.

`VDIST_TOKENS_FILE` names a JSON file of principals (API.md, "Access"):

    {"principals": [
      {"name": "alice", "role": "operator", "token_sha256": "<hex sha256 of the token>"},
      {"name": "upload-worker-1", "role": "publisher", "client_cn": "upload-worker-1"}]}

Tokens are stored as SHA-256 only and compared in constant time; `client_cn` matches the common
name of a client certificate that the TLS layer has verified (mTLS). The file is re-read on
SIGHUP (`Principals.reload`) without dropping calls: a new table replaces the old in one
assignment. Without a tokens file access is open, as on a developer's loopback server.

`REQUIRED` is the one table from method to the least role that may call it; `Assign` with
`force` or `allow_duplicate` needs `operator`. Roles include the ones below them
(reader < scheduler < operator < admin), except `publisher`, which stands alone: it may lease and
report, and nobody else may, admin included.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import grpc

from server.unary import Behaviour, UnaryInterceptor
from server.usecases.errors import PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)
SERVICE = "distribution.v1.DistributionService"
HEALTH_PREFIX = "/grpc.health.v1.Health/"
REFLECTION_PREFIXES = ("/grpc.reflection.v1alpha.", "/grpc.reflection.v1.")
HOW_TO_AUTHENTICATE = (
    "send metadata 'authorization: Bearer <token>' (grpcurl -H 'authorization: Bearer ...'), "
    "or a client certificate when the server requires mTLS"
)


class Role(StrEnum):
    """What a principal may do (see the module docstring)."""

    READER = "reader"
    SCHEDULER = "scheduler"
    OPERATOR = "operator"
    ADMIN = "admin"
    PUBLISHER = "publisher"


_RANK = {Role.READER: 0, Role.SCHEDULER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}

#: Method -> the least role that may call it.
REQUIRED: dict[str, Role] = {
    "GetChannel": Role.READER,
    "ListChannels": Role.READER,
    "GetQuotaPool": Role.READER,
    "ListQuotaPools": Role.READER,
    "GetVideo": Role.READER,
    "ListVideos": Role.READER,
    "Explain": Role.READER,
    "SuggestPlacements": Role.READER,
    "GetDistribution": Role.READER,
    "ListDistributions": Role.READER,
    "ListDecisions": Role.READER,
    "GetRun": Role.READER,
    "ListRunChanges": Role.READER,
    "ListRuns": Role.READER,
    "Stats": Role.READER,
    "UpsertVideos": Role.SCHEDULER,
    "Assign": Role.SCHEDULER,  # with force or allow_duplicate: OPERATOR (see required_role)
    "AutoDistribute": Role.SCHEDULER,
    "ApplyRun": Role.SCHEDULER,
    "CancelDistribution": Role.SCHEDULER,
    "Retry": Role.OPERATOR,
    "SetChannelAvailability": Role.OPERATOR,
    "UpsertChannel": Role.ADMIN,
    "UpsertQuotaPool": Role.ADMIN,
    "LeasePublications": Role.PUBLISHER,
    "ReportPublication": Role.PUBLISHER,
}


def required_role(method: str, request: Any) -> Role:
    """The least role for calling `method` (short name) with `request`."""
    if method == "Assign" and (request.force or request.allow_duplicate):
        return Role.OPERATOR
    return REQUIRED[method]


def may_call(role: Role, required: Role) -> bool:
    """Whether `role` covers `required`: publisher only for publisher methods, else by rank."""
    if Role.PUBLISHER in (role, required):
        return role == required
    return _RANK[role] >= _RANK[required]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    name: str
    role: Role


#: The principal of the call being served (set by AccessInterceptor, read by actor_of).
current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "vdist_principal", default=None
)
#: What every decision of the call records beside its actor (the on-behalf-of header).
current_audit: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "vdist_audit", default=MappingProxyType({})
)
#: The width of every stored actor column.
MAX_ACTOR = 128
ACTOR_METADATA_KEY = "x-vdist-actor"


class PrincipalsFileError(ValueError):
    """The tokens file is unreadable or malformed; the message names the entry."""


class Principals:
    """The principals of a tokens file, looked up by token or certificate common name."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._tokens: list[tuple[bytes, Principal]] = []
        self._names: dict[str, Principal] = {}
        self.reload()

    def reload(self) -> None:
        """Re-reads the file; a broken file keeps the previous table (and says why)."""
        tokens, names = _parse(self._path)
        with self._lock:
            self._tokens, self._names = tokens, names
        log.info("access: %d principals from %s", len(tokens) + len(names), self._path)

    def by_token(self, token: str) -> Principal | None:
        """The principal whose token hashes to sha256(token); every entry is compared, each in
        constant time, so the answer's timing says nothing about which one matched."""
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for expected, principal in self._tokens:
            if hmac.compare_digest(digest, expected):
                found = principal
        return found

    def by_common_name(self, common_name: str) -> Principal | None:
        """The principal of a verified client certificate's common name."""
        return self._names.get(common_name)


def _parse(path: Path) -> tuple[list[tuple[bytes, Principal]], dict[str, Principal]]:
    try:
        data = json.loads(path.read_text())
        entries = data["principals"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PrincipalsFileError(f"{path}: {exc}") from None
    tokens: list[tuple[bytes, Principal]] = []
    names: dict[str, Principal] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: principals[{i}]"
        try:
            principal = Principal(str(entry["name"]), Role(entry["role"]))
        except (KeyError, ValueError, TypeError):
            raise PrincipalsFileError(
                f"{where}: needs a name and a role ({', '.join(Role)})"
            ) from None
        if "token_sha256" in entry:
            try:
                digest = bytes.fromhex(entry["token_sha256"])
            except (ValueError, TypeError):
                raise PrincipalsFileError(f"{where}: token_sha256 is not hex") from None
            if len(digest) != 32:
                raise PrincipalsFileError(f"{where}: token_sha256 is not a SHA-256 digest")
            tokens.append((digest, principal))
        elif "client_cn" in entry:
            names[str(entry["client_cn"])] = principal
        else:
            raise PrincipalsFileError(f"{where}: needs token_sha256 or client_cn")
    return tokens, names


class AccessInterceptor(UnaryInterceptor):
    """Resolves the caller's principal and checks the role table before any handler runs.

    Health is always open; reflection is open unless `reflection_requires_auth`. It must sit
    inside the interceptor that maps errors to status, so that its Unauthenticated and
    PermissionDenied become UNAUTHENTICATED and PERMISSION_DENIED.
    """

    def __init__(self, principals: Principals, *, reflection_requires_auth: bool) -> None:
        self._principals = principals
        self._reflection_requires_auth = reflection_requires_auth

    def other(
        self, method: str, handler: grpc.RpcMethodHandler | None
    ) -> grpc.RpcMethodHandler | None:
        """Reflection streams: open, or guarded when reflection requires auth."""
        if handler is not None and method.startswith(REFLECTION_PREFIXES):
            return self._guard_stream(handler) if self._reflection_requires_auth else handler
        return handler

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        """The role check around a unary call (health is always open)."""
        if method.startswith(HEALTH_PREFIX):
            return behaviour
        short = method.rsplit("/", 1)[-1]

        def call(request: Any, context: grpc.ServicerContext) -> Any:
            principal = self.authenticate(context)
            required = required_role(short, request) if short in REQUIRED else Role.ADMIN
            if not may_call(principal.role, required):
                raise PermissionDenied(
                    f"{principal.name} (role {principal.role}) may not call {short}"
                    + (" with force or allow_duplicate" if required != REQUIRED.get(short) else "")
                    + f": it needs the {required} role"
                )
            # Read by actor_of and the access log; the error interceptor around this one gives
            # every call a fresh value and restores it afterwards.
            current_principal.set(principal)
            header = actor_header(context)[:MAX_ACTOR]
            current_audit.set({"on_behalf_of": header} if header else {})
            return behaviour(request, context)

        return call

    def authenticate(self, context: grpc.ServicerContext) -> Principal:
        """The caller's principal, or Unauthenticated saying how to authenticate."""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and isinstance(value, str):
                scheme, _, token = value.partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    raise Unauthenticated(
                        f"malformed authorization metadata: {HOW_TO_AUTHENTICATE}"
                    )
                principal = self._principals.by_token(token.strip())
                if principal is None:
                    raise Unauthenticated(f"unknown bearer token: {HOW_TO_AUTHENTICATE}")
                return principal
        for common_name in _peer_common_names(context):
            principal = self._principals.by_common_name(common_name)
            if principal is not None:
                return principal
        raise Unauthenticated(f"no credentials: {HOW_TO_AUTHENTICATE}")

    def _guard_stream(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        behaviour = handler.stream_stream
        if behaviour is None:
            return handler

        def call(requests: Any, context: grpc.ServicerContext) -> Any:
            try:
                self.authenticate(context)
            except Unauthenticated as exc:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
            return behaviour(requests, context)

        return grpc.stream_stream_rpc_method_handler(
            call,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def actor_header(context: grpc.ServicerContext) -> str:
    """The `x-vdist-actor` metadata value, stripped ('' when absent)."""
    for key, value in context.invocation_metadata() or ():
        if key == ACTOR_METADATA_KEY and isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _peer_common_names(context: grpc.ServicerContext) -> list[str]:
    """Common names of the client certificate the TLS layer verified (none without mTLS)."""
    names = context.auth_context().get("x509_common_name", [])
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]
