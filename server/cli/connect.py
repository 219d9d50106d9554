"""How the client commands (`vdist worker`, `plan`, `status`) reach a server: address, TLS, token.

`--target` defaults to VDIST_TARGET, then VDIST_ADDRESS, then 127.0.0.1:50051. With `--tls-ca`
the channel is TLS (and with `--tls-cert`/`--tls-key` it presents a client certificate, for
mTLS); `--token-file` (or VDIST_TOKEN) sends `authorization: Bearer <token>` on every call.
`check_reachable` asks the health service first, so that a wrong target is one clear error.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.cli.errors import ServerUnreachable, is_transport_failure

DEFAULT_TARGET = "127.0.0.1:50051"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The connection flags shared by every client command."""
    target = os.environ.get("VDIST_TARGET") or os.environ.get("VDIST_ADDRESS") or DEFAULT_TARGET
    parser.add_argument(
        "--target",
        default=target,
        help="vdist server host:port (env VDIST_TARGET, else VDIST_ADDRESS)",
    )
    parser.add_argument(
        "--tls-ca",
        metavar="PEM",
        help="CA bundle: connect with TLS, verifying the server (default: plaintext)",
    )
    parser.add_argument(
        "--tls-cert",
        metavar="PEM",
        help="client certificate, for mTLS; with --tls-key (default: none)",
    )
    parser.add_argument(
        "--tls-key", metavar="PEM", help="client key, for mTLS; with --tls-cert (default: none)"
    )
    parser.add_argument(
        "--token-file",
        metavar="FILE",
        help="file holding a bearer token (default: env VDIST_TOKEN, which holds one directly; "
        "else no token)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the server to answer before giving up",
    )


def add_channel_argument(parser: argparse.ArgumentParser, every: str = "every channel") -> None:
    """`--channel ID` (repeatable, into `args.channels`): the channels a command works on."""
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        dest="channels",
        metavar="ID",
        help=f"only this channel (repeatable; default: {every})",
    )


class ConnectionSettingsError(ValueError):
    """The connection flags are inconsistent or name unreadable files."""


def open_channel(args: argparse.Namespace) -> grpc.Channel:
    """A channel to `args.target` as the flags describe."""
    token = _token(args)
    if not args.tls_ca and (args.tls_cert or args.tls_key):
        raise ConnectionSettingsError("--tls-cert and --tls-key need --tls-ca")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConnectionSettingsError("--tls-cert and --tls-key go together")
    if args.tls_ca:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(args.tls_ca, "--tls-ca"),
            private_key=_read(args.tls_key, "--tls-key") if args.tls_key else None,
            certificate_chain=_read(args.tls_cert, "--tls-cert") if args.tls_cert else None,
        )
        if token:
            credentials = grpc.composite_channel_credentials(
                credentials, grpc.access_token_call_credentials(token)
            )
        return grpc.secure_channel(args.target, credentials)
    channel = grpc.insecure_channel(args.target)
    if token:
        # Call credentials need TLS; on plaintext (loopback) the header is added by hand.
        channel = grpc.intercept_channel(channel, _BearerToken(token))
    return channel


def check_reachable(channel: grpc.Channel, args: argparse.Namespace, *, patient: bool) -> int:
    """The server's overall health status (grpc.health.v1), or ServerUnreachable.

    Health needs no credentials, so this tells a wrong target or TLS setting apart from a
    refused call. `patient` keeps asking for `--connect-timeout` seconds (a worker started
    beside its server); otherwise one attempt within that time decides.
    """
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + args.connect_timeout
    while True:
        left = max(0.1, deadline - time.monotonic())
        try:
            return int(stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=left).status)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ServerUnreachable(
                    args.target, f"no answer within {args.connect_timeout:g} s"
                ) from None
            if not is_transport_failure(exc):
                raise
            if not patient or time.monotonic() + 0.5 >= deadline:
                raise ServerUnreachable(args.target, " ".join(exc.details().split())) from None
            time.sleep(0.5)


def _token(args: argparse.Namespace) -> str:
    if args.token_file:
        return _read(args.token_file, "--token-file").decode().strip()
    return os.environ.get("VDIST_TOKEN", "").strip()


def _read(path: str, flag: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConnectionSettingsError(f"{flag} {path}: {exc.strerror}") from None


class _BearerToken(grpc.UnaryUnaryClientInterceptor):
    """Adds `authorization: Bearer <token>` to every unary call."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        metadata = [*(client_call_details.metadata or ()), self._header]
        details = client_call_details._replace(metadata=metadata)
        return continuation(details, request)
