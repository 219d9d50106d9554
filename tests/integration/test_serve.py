"""`vdist serve` as a process: migrate on start, reflection and health, graceful SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from tests.support.factories import channel

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(stub) -> int:
    return stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status


def test_sigterm_drains_in_flight_calls_then_exits(tmp_path):
    port = _free_port()
    db = tmp_path / "vdist.db"
    env = {**os.environ, "VDIST_ADDRESS": f"127.0.0.1:{port}", "VDIST_GRACE_SECONDS": "20"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--database-url", f"sqlite:///{db}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        channel_ = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel_).result(timeout=30)
        health = health_pb2_grpc.HealthStub(channel_)
        assert _health(health) == health_pb2.HealthCheckResponse.SERVING
        services = next(
            reflection_pb2_grpc.ServerReflectionStub(channel_).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
        ).list_services_response.service
        assert "distribution.v1.DistributionService" in {s.name for s in services}

        # Hold SQLite's write lock so that the next call stays in flight.
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        stub = svc_grpc.DistributionServiceStub(channel_)
        result: dict[str, object] = {}

        def slow_call() -> None:
            result["channel"] = stub.UpsertChannel(
                svc.UpsertChannelRequest(channel=channel("drained")), timeout=30
            )

        caller = threading.Thread(target=slow_call)
        caller.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if _health(health) == health_pb2.HealthCheckResponse.NOT_SERVING:
                    break
            except grpc.RpcError:
                break  # the port already refuses new calls: also not serving
            time.sleep(0.05)
        else:
            raise AssertionError("health never turned NOT_SERVING")
        assert proc.poll() is None, "the server waits for its in-flight call"
        blocker.execute("ROLLBACK")
        blocker.close()
        caller.join(timeout=30)
        assert result["channel"].id == "drained", "the in-flight call finished"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate()[0]
    assert "vdist stopped" in output


def test_health_follows_the_database(tmp_path):
    from grpc_health.v1 import health

    from persistence.database import Database
    from server.app import SERVICE_NAME, DatabaseHealth

    servicer = health.HealthServicer()
    gone = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1")
    assert not DatabaseHealth(gone, servicer, 5).probe()
    check = servicer.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), None)
    assert check.status == health_pb2.HealthCheckResponse.NOT_SERVING
    here = Database(f"sqlite:///{tmp_path}/ok.db")
    assert DatabaseHealth(here, servicer, 5).probe()
    check = servicer.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), None)
    assert check.status == health_pb2.HealthCheckResponse.SERVING
