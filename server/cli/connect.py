"""How the client commands (`vdist worker`, `vdist plan`) reach a server: address, TLS, token.

`--target` defaults to VDIST_TARGET, then VDIST_ADDRESS, then 127.0.0.1:50051. With `--tls-ca`
the channel is TLS (and with `--tls-cert`/`--tls-key` it presents a client certificate, for
mTLS); `--token-file` (or VDIST_TOKEN) sends `authorization: Bearer <token>` on every call.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

DEFAULT_TARGET = "127.0.0.1:50051"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The connection flags shared by every client command."""
    target = os.environ.get("VDIST_TARGET") or os.environ.get("VDIST_ADDRESS") or DEFAULT_TARGET
    parser.add_argument(
        "--target", default=target, help="vdist server host:port (env VDIST_TARGET, VDIST_ADDRESS)"
    )
    parser.add_argument("--tls-ca", help="PEM CA bundle: connect with TLS, verifying the server")
    parser.add_argument("--tls-cert", help="PEM client certificate (mTLS; with --tls-key)")
    parser.add_argument("--tls-key", help="PEM client key (mTLS; with --tls-cert)")
    parser.add_argument(
        "--token-file", help="file holding a bearer token (env VDIST_TOKEN holds one directly)"
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
