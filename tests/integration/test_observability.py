"""What an operator sees: /metrics after real calls, AutoDistribute stages as spans, JSON access
logs, and alert rules that name only series the server exports."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
import yaml
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from server.api.converters import dt_to_ts
from server.observability.tracing import configure_tracing
from tests.support.factories import channel, setup, video

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def _value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def observed(fresh_database_url):
    exporter = InMemorySpanExporter()
    handle_tracing = configure_tracing(None, None, exporter=exporter)
    from server.app import create_server
    from server.settings import Settings
    from tests.support.servers import ServerHandle

    settings = Settings.from_env(
        environ={},
        address="127.0.0.1:0",
        database_url=fresh_database_url,
        access_log=False,
        metrics_address="127.0.0.1:0",
        metrics_cache_seconds=0,
    )
    running = create_server(settings, tracing=handle_tracing)
    address = f"127.0.0.1:{running.port}"
    channel_ = grpc.insecure_channel(address)
    handle = ServerHandle(
        running, channel_, svc_grpc.DistributionServiceStub(channel_), address, fresh_database_url
    )
    yield handle, exporter
    handle.close()


def test_metrics_after_real_calls(observed):
    server, _ = observed
    port = server.running.metrics_endpoint.port
    setup(server.stub, [channel("m-1")], [video("mv-1"), video("mv-2")])
    now = dt_to_ts(datetime.now(UTC).replace(microsecond=0))
    server.stub.Assign(
        svc.AssignRequest(video_id="mv-1", channel_ids=["m-1"], force=True, scheduled_at=now)
    )
    server.stub.Assign(svc.AssignRequest(video_id="mv-2", channel_ids=["m-1"]))
    with pytest.raises(grpc.RpcError):
        server.stub.GetChannel(svc.GetChannelRequest(id="nope"))
    samples = _scrape(port)
    method = {"grpc_type": "UNARY", "grpc_service": "distribution.v1.DistributionService"}
    assert _value(samples, "grpc_server_started_total", grpc_method="Assign", **method) == 2
    assert (
        _value(samples, "grpc_server_handled_total", grpc_method="Assign", grpc_code="OK", **method)
        == 2
    )
    assert (
        _value(
            samples,
            "grpc_server_handled_total",
            grpc_method="GetChannel",
            grpc_code="NOT_FOUND",
            **method,
        )
        == 1
    )
    assert (
        _value(samples, "grpc_server_handling_seconds_count", grpc_method="Assign", **method) == 2
    )
    assert _value(samples, "vdist_distributions", state="SCHEDULED") == 2
    assert _value(samples, "vdist_publications_due") == 1  # the forced one, due now
    assert _value(samples, "vdist_channels_unavailable") == 0
    stats = server.stub.Stats(svc.StatsRequest(channel_ids=["m-1"]))
    assert (stats.due_now, stats.total) == (1, 2)
    assert stats.oldest_due_seconds >= 0 and stats.server_version

    leases = server.stub.LeasePublications(svc.LeasePublicationsRequest(worker_id="w")).leases
    server.stub.ReportPublication(
        svc.ReportPublicationRequest(
            distribution_id=leases[0].distribution.id,
            lease_token=leases[0].lease_token,
            published=svc.PublishedOutcome(external_id="x-1"),
        )
    )
    server.stub.AutoDistribute(
        svc.AutoDistributeRequest(mode=svc.AUTO_DISTRIBUTE_MODE_FILTER, time_limit_seconds=5)
    )
    samples = _scrape(port)
    assert _value(samples, "vdist_distributions", state="PUBLISHED") == 1
    assert _value(samples, "vdist_publications_due") == 0
    assert _value(samples, "vdist_publication_outcomes_total", result="published") == 1
    assert _value(samples, "vdist_autodistribute_runs_total", solver_status="OPTIMAL") == 1
    assert _value(samples, "vdist_autodistribute_run_seconds_count") == 1
    assert "vdist_db_transaction_retries_total" in {name for name, _ in samples}


def test_autodistribute_stages_are_child_spans_of_the_call(observed):
    server, exporter = observed
    setup(server.stub, [channel("t-1")], [video("tv-1")])
    exporter.clear()
    server.stub.AutoDistribute(
        svc.AutoDistributeRequest(
            mode=svc.AUTO_DISTRIBUTE_MODE_FILTER, dry_run=True, time_limit_seconds=5
        )
    )
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    call = next(s for s in spans if s.name.endswith("AutoDistribute") and "." not in s.name[-15:])
    stages = [s for s in spans if s.name.startswith("AutoDistribute.")]
    assert [s.name for s in stages] == [
        # A dry run writes its proposal: the write stage too.
        f"AutoDistribute.{n}"
        for n in ("load", "candidates", "solve", "check", "rows", "write")
    ], names
    assert all(s.parent is not None and s.parent.span_id == call.context.span_id for s in stages)
    assert all(s.context.trace_id == call.context.trace_id for s in stages)


def test_json_access_log_lines_without_credentials(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    env = {
        **os.environ,
        "VDIST_ADDRESS": address,
        "VDIST_DATABASE_URL": f"sqlite:///{tmp_path}/log.db",
        "VDIST_LOG_FORMAT": "json",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        channel_ = grpc.insecure_channel(address)
        grpc.channel_ready_future(channel_).result(timeout=30)
        stub = svc_grpc.DistributionServiceStub(channel_)
        with pytest.raises(grpc.RpcError):
            stub.GetVideo(
                svc.GetVideoRequest(id="missing"),
                metadata=[("authorization", "Bearer sekrit-token-value")],
            )
        channel_.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert records and len(records) == len(err.strip().splitlines()), err
    access = [r for r in records if r.get("method", "").endswith("/GetVideo")]
    assert access[0]["code"] == "NOT_FOUND"
    assert access[0]["principal"] == "anonymous"
    assert {"time", "level", "logger", "message", "duration_ms", "peer"} <= set(access[0])
    assert "sekrit" not in err


def test_alert_rules_and_scrape_config_name_exported_series(observed):
    server, _ = observed
    setup(server.stub, [channel("a-1")], [])
    server.stub.ListChannels(svc.ListChannelsRequest())
    exported = {name for name, _ in _scrape(server.running.metrics_endpoint.port)}
    exported |= {re.sub(r"_(bucket|sum|count|total|created)$", "", n) for n in exported}
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["alerts.yml"]
    assert scrape["scrape_configs"][0]["metrics_path"] == "/metrics"
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    assert len(alerts) >= 4
    for rule in alerts:
        assert {"alert", "expr", "for", "labels", "annotations"} <= set(rule), rule
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
        names = set(re.findall(r"\b((?:vdist|grpc_server)_[a-z_]+)", rule["expr"]))
        assert names, rule["alert"]
        for name in names:
            assert name in exported or name.removesuffix("_total") in exported, (rule, name)
