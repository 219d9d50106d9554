"""Publisher plugins: what actually puts a video on a platform.

A publisher is found by name in the entry point group `vdist.publishers`. It gets a lease's
distribution and idempotency key and either returns where the post is or raises
PublishFailed. When `previous_attempt_unconfirmed` is set, an earlier attempt may already have
posted: a publisher must check the platform for the idempotency key before uploading again.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from google.protobuf import json_format

from distribution.v1 import distribution_service_pb2 as svc

ENTRY_POINT_GROUP = "vdist.publishers"


@dataclass(frozen=True)
class Published:
    """Where the post is."""

    external_id: str
    url: str


class PublishFailed(Exception):
    """The upload failed; `retryable` and `channel_unavailable` tell vdist what to do next."""

    def __init__(self, error: str, *, retryable: bool, channel_unavailable: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self.retryable = retryable
        self.channel_unavailable = channel_unavailable


class OutcomeLost(Exception):
    """The worker lost track of the outcome (a timeout after sending): it must not report."""


class Publisher(Protocol):
    """What `vdist worker` calls for each lease."""

    def publish(self, lease: svc.Lease) -> Published:
        """Publishes the leased distribution; raises PublishFailed or OutcomeLost."""
        ...


def default_folder() -> Path:
    """Where the local publishers write by default: `$XDG_DATA_HOME/vdist/published`, else
    `~/.local/share/vdist/published` (outside any checkout)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "vdist" / "published"


class LocalPublisher:
    """Publishes by writing one JSON manifest per distribution into a folder.

    The file is named by the idempotency key, so a repeated upload is visible: when the file
    already exists (an earlier attempt posted, then its worker died before reporting), the
    publisher reports that post instead of writing again.
    """

    def __init__(
        self, folder: str | os.PathLike[str] | None = None, *, delay_seconds: float = 0.0
    ) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.delay_seconds = delay_seconds

    def publish(self, lease: svc.Lease) -> Published:
        path = self.folder / f"{lease.idempotency_key}.json"
        if path.exists():
            existing = json.loads(path.read_text())
            return Published(existing["external_id"], existing["url"])
        d = lease.distribution
        manifest: dict[str, Any] = {
            "external_id": f"local-{lease.idempotency_key}",
            "url": path.resolve().as_uri(),
            "distribution": json_format.MessageToDict(d, preserving_proto_field_name=True),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
        os.replace(tmp, path)  # atomic: a crash leaves the old state or the whole manifest
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # the platform has it; the worker may still die now
        return Published(manifest["external_id"], manifest["url"])


class FlakyPublisher:
    """A LocalPublisher that fails, loses outcomes or reports outages at configured rates.

    For tests and demos: `fail_rate` raises a retryable failure, `timeout_rate` posts and then
    loses the outcome (the worker will not report, so the lease expires), `outage_rate` reports
    the channel as unavailable. Draws come from a seeded generator, so runs repeat.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str] | None = None,
        *,
        fail_rate: float = 0.2,
        timeout_rate: float = 0.0,
        outage_rate: float = 0.0,
        seed: int = 0,
        **options: Any,
    ) -> None:
        for name, rate in (
            ("fail_rate", fail_rate),
            ("timeout_rate", timeout_rate),
            ("outage_rate", outage_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        self.local = LocalPublisher(folder, **options)
        self.fail_rate, self.timeout_rate, self.outage_rate = fail_rate, timeout_rate, outage_rate
        self.random = random.Random(seed)

    def publish(self, lease: svc.Lease) -> Published:
        draw = self.random.random()
        if draw < self.outage_rate:
            raise PublishFailed(
                "platform says: account suspended", retryable=True, channel_unavailable=True
            )
        draw -= self.outage_rate
        if draw < self.fail_rate:
            raise PublishFailed("platform says: 503 upload failed", retryable=True)
        draw -= self.fail_rate
        if draw < self.timeout_rate:
            self.local.publish(lease)
            raise OutcomeLost("timed out after sending the upload")
        return self.local.publish(lease)


def load_publisher(name: str, **options: Any) -> Publisher:
    """The publisher registered under `name` in the `vdist.publishers` entry point group."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        known = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
        raise LookupError(f"no publisher {name!r}; known: {', '.join(known)}")
    factory = next(iter(found)).load()
    publisher: Publisher = factory(**options)
    return publisher
