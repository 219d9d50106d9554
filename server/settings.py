"""Server settings: one typed object, read from `VDIST_*` environment variables and CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "VDIST_"


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'vdist.db'}"


@dataclass(frozen=True)
class Settings:
    """How the server runs. Every field can be set with VDIST_<FIELD NAME IN CAPITALS>."""

    #: host:port to listen on; port 0 picks a free port (tests).
    address: str = "127.0.0.1:50051"
    #: SQLAlchemy URL; default a SQLite file `vdist.db` in the working directory.
    database_url: str = field(default_factory=_default_database_url)
    #: Threads serving calls; also the most calls in flight at once (per process).
    max_workers: int = 16
    #: Server processes sharing the address (server/processes.py): one per core to use.
    processes: int = 1
    #: Seconds in-flight calls get to finish after SIGTERM before the server stops.
    grace_seconds: float = 10.0
    #: Key that signs page tokens; replicas sharing a database must share it.
    page_token_secret: str = "vdist-dev-page-token-secret"
    #: Log every call (method, status, duration, actor) at INFO.
    access_log: bool = True
    #: Python logging level name.
    log_level: str = "INFO"
    #: Largest request or response message in bytes (AutoDistribute plans are big).
    max_message_bytes: int = 64 * 1024 * 1024
    #: Seconds a channel stays unavailable after a reported outage; doubles per consecutive one.
    outage_cooldown_seconds: float = 300.0
    #: Longest outage cooldown in seconds.
    outage_max_cooldown_seconds: float = 86400.0
    #: Seconds between database probes behind the health status (0: no probing).
    health_probe_seconds: float = 5.0
    #: Migrate the schema to head when the server starts.
    migrate_on_start: bool = True
    #: JSON file of principals (docs/operations.md, "Access"); unset: access is open.
    tokens_file: str = ""
    #: PEM certificate chain and key: serve TLS.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    #: PEM CA bundle: require and verify client certificates (mTLS).
    tls_client_ca_file: str = ""
    #: Serve a non-loopback address without a tokens file (anyone who reaches it may do anything).
    insecure: bool = False
    #: Reflection also needs credentials (health never does).
    reflection_requires_auth: bool = False
    #: host:port serving Prometheus text at /metrics (unset: no endpoint).
    metrics_address: str = ""
    #: Seconds the domain series (counted in SQL, the same on every replica) are cached.
    metrics_cache_seconds: float = 5.0
    #: `text` (one line a record) or `json` (one object a line).
    log_format: str = "text"
    #: Seconds between missed-slot sweeps of this process (0: none; every replica sweeps).
    missed_slot_sweep_seconds: float = 30.0
    #: Hours a dry run's proposal can be applied (ApplyRun) before it expires.
    proposal_ttl_hours: float = 24.0
    #: `console` prints spans; with OTEL_EXPORTER_OTLP_ENDPOINT set they go there (unset: off).
    tracing: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then VDIST_* variables, then explicit overrides (None means not given)."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(raw, type(getattr(cls(), f.name)), f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _parse(raw: str, kind: type, name: str) -> Any:
    try:
        if kind is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        return kind(raw)
    except ValueError as exc:
        raise SystemExit(
            f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from exc
