"""`vdist serve --processes 2`: one address, two server processes, one supervisor.

The group runs as a real process tree on a free port; clients connect over loopback with
connections of their own, so the kernel spreads them over both processes (SO_REUSEPORT).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from tests.support.factories import channel

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0
CONNECTIONS = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Group:
    """A running `vdist serve --processes 2` and the JSON lines it logged."""

    proc: subprocess.Popen[str]
    port: int
    metrics_port: int
    records: list[dict[str, object]] = field(default_factory=list)
    _lines: queue.Queue[dict[str, object]] = field(default_factory=queue.Queue)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = {"message": line.rstrip()}
            self.records.append(record)
            self._lines.put(record)

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                record = self._lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, f"group exited: {self.records[-5:]}"
                continue
            if text in str(record.get("message", "")):
                return record
        raise AssertionError(f"no {text!r} in {timeout}s: {self.records[-5:]}")

    def pids(self, method: str) -> set[object]:
        return {r["pid"] for r in self.records if r.get("method") == method}


def _serve(database_url: str, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--database-url", database_url, *args],
        cwd=ROOT,
        env={**os.environ, "VDIST_LOG_FORMAT": "json", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def group(fresh_database_url: str) -> Iterator[Group]:
    port, metrics_port = _free_port(), _free_port()
    proc = _serve(
        fresh_database_url,
        "--processes",
        "2",
        VDIST_ADDRESS=f"127.0.0.1:{port}",
        VDIST_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}",
        VDIST_METRICS_CACHE_SECONDS="0",
        VDIST_GRACE_SECONDS="5",
    )
    running = Group(proc, port, metrics_port)
    threading.Thread(target=running.read, daemon=True).start()
    try:
        running.wait_for("with 2 processes")
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _own_connection(port: int) -> grpc.Channel:
    # A local subchannel pool: every channel makes its own TCP connection, so the kernel
    # picks a process for each (a shared pool would reuse one connection for all).
    return grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
    )


def _scrape(port: int) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()


def _sum(text: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def test_two_processes_share_one_address_metrics_and_a_graceful_stop(
    group: Group, fresh_database_url: str
) -> None:
    for i in range(CONNECTIONS):
        with _own_connection(group.port) as conn:
            health = health_pb2_grpc.HealthStub(conn)
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
            assert status == health_pb2.HealthCheckResponse.SERVING
            stub = svc_grpc.DistributionServiceStub(conn)
            stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel(f"mp-{i}")), timeout=30)
    group.wait_for("UpsertChannel")  # the access log line of the last call is out
    time.sleep(0.5)
    assert len(group.pids("/distribution.v1.DistributionService/UpsertChannel")) == 2

    # One database behind both: every write is visible through any connection.
    with _own_connection(group.port) as conn:
        listed = svc_grpc.DistributionServiceStub(conn).ListChannels(
            svc.ListChannelsRequest(page_size=100), timeout=10
        )
    assert {c.id for c in listed.channels} >= {f"mp-{i}" for i in range(CONNECTIONS)}

    # The supervisor's /metrics sums both processes' counters and adds the domain series.
    text = _scrape(group.metrics_port)
    upserts = 'grpc_server_handled_total{grpc_code="OK",grpc_method="UpsertChannel"'
    assert _sum(text, upserts) == CONNECTIONS
    assert text.count("# TYPE vdist_channels_unavailable gauge") == 1

    # Neither an independent server nor a second group may join the address.
    for args in ((), ("--processes", "2")):
        other = _serve(fresh_database_url, *args, VDIST_ADDRESS=f"127.0.0.1:{group.port}")
        out, _ = other.communicate(timeout=120)
        assert other.returncode == 2 and "Address already in use" in out, out

    group.proc.send_signal(signal.SIGTERM)
    assert group.proc.wait(timeout=60) == 0
    group.wait_for("vdist stopped (2 processes)", timeout=10)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", group.port))  # released


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_server_process_that_dies_is_replaced(group: Group) -> None:
    started = group.records[-1]["message"]
    pids = [int(p) for p in str(started).split("pids ", 1)[1].rstrip(")").split()]
    time.sleep(11)  # older than the fast-failure window: a crash, not a failed start
    os.kill(pids[0], signal.SIGKILL)
    replaced = group.wait_for("exited with code -9")
    assert str(pids[0]) in str(replaced["message"])
    group.wait_for("vdist serving on")  # the new process's own line
    for _ in range(8):
        with _own_connection(group.port) as conn:
            health = health_pb2_grpc.HealthStub(conn)
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
            assert status == health_pb2.HealthCheckResponse.SERVING
