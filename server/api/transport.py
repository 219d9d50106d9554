"""How the server meets the network: TLS credentials, and who may reach an open server.

Without a tokens file anyone who reaches the port may do anything, so such a server listens on
loopback only unless `VDIST_INSECURE=true` says that is intended.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import grpc

from server.settings import Settings


class UnsafeExposure(RuntimeError):
    """The settings would serve without authentication beyond this machine, or half TLS."""


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials from VDIST_TLS_*, None for plaintext; with a client CA, client
    certificates are required and verified (mTLS)."""
    cert, key, client_ca = (
        settings.tls_cert_file,
        settings.tls_key_file,
        settings.tls_client_ca_file,
    )
    if not cert and not key:
        if client_ca:
            raise UnsafeExposure("VDIST_TLS_CLIENT_CA_FILE needs VDIST_TLS_CERT_FILE and _KEY_FILE")
        return None
    if not (cert and key):
        raise UnsafeExposure("VDIST_TLS_CERT_FILE and VDIST_TLS_KEY_FILE go together")
    return grpc.ssl_server_credentials(
        [(_read(key, "VDIST_TLS_KEY_FILE"), _read(cert, "VDIST_TLS_CERT_FILE"))],
        root_certificates=_read(client_ca, "VDIST_TLS_CLIENT_CA_FILE") if client_ca else None,
        require_client_auth=bool(client_ca),
    )


def check_exposure(settings: Settings) -> None:
    """Refuses an open server (no tokens file) on a non-loopback address, unless insecure."""
    if settings.tokens_file or settings.insecure or is_loopback(settings.address):
        return
    raise UnsafeExposure(
        f"refusing to serve {settings.address} without authentication: anyone who can reach it "
        "could force, cancel and retry distributions. Set VDIST_TOKENS_FILE (see "
        "docs/operations.md), listen on 127.0.0.1, or set VDIST_INSECURE=true if that is intended"
    )


def is_loopback(address: str) -> bool:
    """Whether host:port names this machine only (127.0.0.0/8, ::1, localhost)."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UnsafeExposure(f"{setting}={path}: {exc.strerror}") from None
