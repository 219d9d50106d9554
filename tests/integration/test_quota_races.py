"""Concurrent Assigns on channels sharing a quota pool of limit K never put more than K live
distributions in a window: threads on one server (both databases), and on PostgreSQL two
server processes on one database, each serving half of the threads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from allocator.quota_windows import calendar_window
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from persistence import migrations
from server.api.converters import dt_to_ts, ts_to_dt
from tests.integration.test_quotas import LA, hourly, pool
from tests.support.factories import setup, video

THREADS = 16
LIMIT = 3
ROOT = Path(__file__).resolve().parents[2]
#: One Los Angeles day, far enough ahead that nothing else of the session is in it.
DAY_START = datetime(2027, 4, 20, 7, tzinfo=UTC)  # local midnight (PDT)


def _race(stubs: list[svc_grpc.DistributionServiceStub], uid: str) -> list[svc.AssignResult]:
    """THREADS threads, each assigning videos to the pool's channels at explicit hours of one
    LA day and by next free slot, spread over `stubs`; every result."""
    stub = stubs[0]
    pid = pool(stub, f"race-{uid}", LIMIT).id
    channels = [hourly(f"qrace{i}-{uid}", [pid], zone) for i, zone in enumerate(_ZONES)]
    videos = [video(f"qrv{n}-{uid}") for n in range(THREADS * 2)]
    setup(stub, channels, videos)
    barrier = threading.Barrier(THREADS)

    def hammer(n: int) -> list[svc.AssignResult]:
        client = stubs[n % len(stubs)]
        barrier.wait()
        target = channels[n % len(channels)].id
        explicit = svc.AssignRequest(
            video_id=videos[2 * n].id,
            channel_ids=[target],
            scheduled_at=dt_to_ts(DAY_START + timedelta(hours=n % 23)),
        )
        searched = svc.AssignRequest(video_id=videos[2 * n + 1].id, channel_ids=[target])
        return [
            *client.Assign(explicit, timeout=120).results,
            *client.Assign(searched, timeout=120).results,
        ]

    with ThreadPoolExecutor(THREADS) as workers:
        return [r for rs in workers.map(hammer, range(THREADS)) for r in rs]


_ZONES = ("Europe/Berlin", "Asia/Tokyo", "UTC", "America/New_York")


def _check(results: list[svc.AssignResult]) -> None:
    placed = [
        ts_to_dt(r.distribution.scheduled_at)
        for r in results
        if r.outcome == svc.ASSIGN_OUTCOME_ASSIGNED
    ]
    per_window = Counter(calendar_window(t, LA)[0] for t in placed)
    assert max(per_window.values()) <= LIMIT, per_window
    # The explicit day is contended by every thread: exactly K of them got it.
    assert per_window[DAY_START] == LIMIT, per_window
    explicit = results[0::2]
    assert Counter(r.outcome for r in explicit) == {
        svc.ASSIGN_OUTCOME_ASSIGNED: LIMIT,
        svc.ASSIGN_OUTCOME_REJECTED_QUOTA: THREADS - LIMIT,
    }
    # Every search found a slot, in windows with room: K a day from the first one on.
    searched = sorted(ts_to_dt(r.distribution.scheduled_at) for r in results[1::2])
    assert len(searched) == THREADS
    assert len({calendar_window(t, LA)[0] for t in searched}) >= THREADS // LIMIT


def test_threads_sharing_a_pool_never_overdraw_it(server, uid: str) -> None:
    _check(_race([server.stub], uid))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(database_url: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--database-url", database_url],
        cwd=ROOT,
        env={**os.environ, "VDIST_ADDRESS": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def two_processes(fresh_database_url: str, backend: str) -> Iterator[list[grpc.Channel]]:
    if backend != "postgresql":
        pytest.skip("replicas share a PostgreSQL database")
    migrations.upgrade(fresh_database_url)
    ports = [_free_port(), _free_port()]
    procs = [_serve(fresh_database_url, port) for port in ports]
    channels = [grpc.insecure_channel(f"127.0.0.1:{port}") for port in ports]
    try:
        for channel in channels:
            grpc.channel_ready_future(channel).result(timeout=60)
        yield channels
    finally:
        for channel in channels:
            channel.close()
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def test_two_server_processes_on_one_database_never_overdraw_a_pool(
    two_processes: list[grpc.Channel], uid: str
) -> None:
    _check(_race([svc_grpc.DistributionServiceStub(c) for c in two_processes], uid))
