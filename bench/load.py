"""Per-call load: each method's calls/s and p50/p99 beside the no-op RPC, same server, same run.

One real server per backend (server.app.create_server on 127.0.0.1:0, access log off) on a
fresh database (SQLite file, or a throwaway PostgreSQL database dropped afterwards). Seeded
through the API: `--channels` channels posting 24 slots a day (every hour, UTC) and `--videos`
READY videos for Assign; inserted directly through the persistence models in bulk:
`--existing N` live SCHEDULED distributions per channel on the channel's next N hourly slots
(long horizons: N=1000 is six weeks ahead) and a lease pool of past-due SCHEDULED
distributions (`--pool` hours back on every channel) for LeasePublications.

Then, per method, `--threads` client threads over loopback call it back to back for
`--seconds` (calls in flight at the deadline finish; each call has a 10 s deadline). The
clients run in a separate (spawned) process, so that their Python does not share the server's
GIL. Methods: health Check (the no-op baseline), GetChannel, ListChannels, Explain (1 video x
every channel), Assign (each call a fresh video to one channel's next free slot),
ListDistributions (one channel's first page of 100), Stats (everything), and
LeasePublications(limit 1) + ReportPublication(published) pairs (one pair counts as one call).

`--assign-depth N` adds two channels posting every quarter hour: one empty, one holding N live
(PUBLISHED) distributions of N videos of its own on the hourly slots before now (a channel's
history: the duplicate query has N live rows to look through). "Assign empty" and "Assign deep"
then measure Assign on each, one client thread (latency, not throughput), interleaved in every
run, each run from a free calendar (what earlier runs booked there is cancelled first);
"deep/empty" in the summary is the ratio of their p50s.

    python -m bench.load [--backend sqlite|postgresql|both] [--seconds 5] [--threads 8]
                         [--existing N] [--repeat R] [--methods Assign,...] [--assign-depth N]

calls/s is the median over the R runs; p50/p99 are over every call of every run; "x no-op"
is calls/s over the no-op's calls/s measured on the same server in the same run; "cpu ms" is
the server process's CPU time (user + system, every thread) per call, median over the runs.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import multiprocessing
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from bench.databases import database, quiet_server

CALL_TIMEOUT = 10.0
MAX_SECONDS = 60.0
METHODS = [
    "HealthCheck",
    "GetChannel",
    "ListChannels",
    "Explain",
    "Assign",
    "ListDistributions",
    "Stats",
    "Lease+Report",
]
#: Rows of `--assign-depth`: Assign on the empty and on the deep channel, one thread each.
DEPTH_METHODS = ["Assign empty", "Assign deep"]
EMPTY_CHANNEL = "load-empty"
DEEP_CHANNEL = "load-deep"
#: The channels' missed-slot grace (a Duration message, built where protobuf is imported).
_WEEK_SECONDS = 7 * 86400


# ---------------------------------------------------------------------------------------------
# Client side (runs in the spawned process).

_client: dict[str, Any] = {}


def client_init(address: str, channel_ids: list[str], video_ids: list[str]) -> None:
    _client.update(
        address=address,
        channels=channel_ids,
        videos=video_ids,
        assign_next=itertools.count(),
    )


def _calls(name: str, stub: Any, health: Any, ticket: Iterator[int]) -> Callable[[], None]:
    from grpc_health.v1 import health_pb2

    from distribution.v1 import distribution_service_pb2 as svc

    channels: list[str] = _client["channels"]
    videos: list[str] = _client["videos"]
    t = CALL_TIMEOUT
    if name == "HealthCheck":
        request = health_pb2.HealthCheckRequest()
        return lambda: health.Check(request, timeout=t)
    if name == "GetChannel":
        return lambda: stub.GetChannel(
            svc.GetChannelRequest(id=channels[next(ticket) % len(channels)]), timeout=t
        )
    if name == "ListChannels":
        request = svc.ListChannelsRequest(page_size=100)
        return lambda: stub.ListChannels(request, timeout=t)
    if name == "Explain":
        request = svc.ExplainRequest(video_ids=[videos[0]], channel_ids=channels)
        return lambda: stub.Explain(request, timeout=t)
    if name in ("Assign", *DEPTH_METHODS):
        assign_next: Iterator[int] = _client["assign_next"]
        fixed = {"Assign empty": EMPTY_CHANNEL, "Assign deep": DEEP_CHANNEL}.get(name)

        def assign() -> None:
            i = next(assign_next)
            if i >= len(videos):
                raise RuntimeError("out of fresh videos (raise --videos)")
            response = stub.Assign(
                svc.AssignRequest(
                    video_id=videos[i], channel_ids=[fixed or channels[i % len(channels)]]
                ),
                timeout=t,
            )
            if response.results[0].outcome != svc.ASSIGN_OUTCOME_ASSIGNED:
                raise RuntimeError(response.results[0].reason)

        return assign
    if name == "ListDistributions":
        return lambda: stub.ListDistributions(
            svc.ListDistributionsRequest(
                channel_id=channels[next(ticket) % len(channels)], page_size=100
            ),
            timeout=t,
        )
    if name == "Stats":
        request = svc.StatsRequest()
        return lambda: stub.Stats(request, timeout=t)
    if name == "Lease+Report":

        def lease_report() -> None:
            leased = stub.LeasePublications(
                svc.LeasePublicationsRequest(worker_id="bench", limit=1), timeout=t
            )
            if not leased.leases:
                raise RuntimeError("nothing to lease (raise --pool)")
            lease = leased.leases[0]
            stub.ReportPublication(
                svc.ReportPublicationRequest(
                    distribution_id=lease.distribution.id,
                    lease_token=lease.lease_token,
                    published=svc.PublishedOutcome(external_id=lease.distribution.id),
                ),
                timeout=t,
            )

        return lease_report
    raise ValueError(name)


def client_measure(name: str, threads: int, seconds: float) -> dict[str, Any]:
    """K threads, one connection each, calling `name` until the deadline."""
    from grpc_health.v1 import health_pb2_grpc

    from distribution.v1 import distribution_service_pb2_grpc as svc_grpc

    ticket = itertools.count()
    connections = [
        grpc.insecure_channel(_client["address"], options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(threads)
    ]
    for c in connections:
        grpc.channel_ready_future(c).result(timeout=10)
    calls = [
        _calls(name, svc_grpc.DistributionServiceStub(c), health_pb2_grpc.HealthStub(c), ticket)
        for c in connections
    ]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    first_error: list[str] = []
    start_barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(k: int) -> None:
        call, mine = calls[k], latencies[k]
        start_barrier.wait()
        end = deadline[0]
        while True:
            t0 = time.perf_counter()
            if t0 >= end:
                return
            try:
                call()
            except (grpc.RpcError, RuntimeError) as exc:
                errors[k] += 1
                if not first_error:
                    first_error.append(str(exc)[:200])
                if "out of" in str(exc) or "nothing to lease" in str(exc):
                    return
                continue
            mine.append(time.perf_counter() - t0)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for p in pool:
        p.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start_barrier.wait()
    for p in pool:
        p.join()
    elapsed = time.perf_counter() - started
    for c in connections:
        c.close()
    done = [x for mine in latencies for x in mine]
    return {
        "calls": len(done),
        "elapsed": elapsed,
        "latencies": done,
        "errors": sum(errors),
        "first_error": first_error[0] if first_error else "",
    }


# ---------------------------------------------------------------------------------------------
# Server side.


def seed_load(
    running: Any, args: argparse.Namespace
) -> tuple[list[str], list[str], dict[str, int]]:
    """Channels and videos through the API; existing and pool distributions in bulk."""
    from google.protobuf import duration_pb2
    from sqlalchemy import select

    from distribution.v1 import distribution_service_pb2 as svc
    from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
    from distribution.v1 import resources_pb2 as pb
    from persistence import models
    from persistence.enums import DistributionMethod, DistributionState

    channel_ids = [f"load-ch-{i:03d}" for i in range(args.channels)]
    fresh = [f"load-v-{i:05d}" for i in range(args.videos)]
    existing = [f"load-ex-{i:05d}" for i in range(args.existing)]
    pool = [f"load-pool-{i:04d}" for i in range(args.pool)]
    hours = [f"{h:02d}:00" for h in range(24)]
    # The depth channels post every quarter hour: one thread books more than a 62-day horizon
    # of hourly slots in a 5 s run.
    quarters = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 15, 30, 45)]
    depth_channels = [EMPTY_CHANNEL, DEEP_CHANNEL] if args.assign_depth else []
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = svc_grpc.DistributionServiceStub(channel)
        for cid in channel_ids + depth_channels:
            times = quarters if cid in depth_channels else hours
            stub.UpsertChannel(
                svc.UpsertChannelRequest(
                    channel=pb.Channel(
                        id=cid,
                        display_name=cid,
                        platform="youtube",
                        timezone="UTC",
                        schedule=pb.PostingSchedule(
                            slots=[
                                pb.WeeklySlot(days=[1, 2, 3, 4, 5, 6, 7], local_time=t)
                                for t in times
                            ]
                        ),
                        # The lease pool lies up to a week in the past: within the grace, so
                        # it is leased, not replanned as missed.
                        missed_slot_policy=pb.MissedSlotPolicy(
                            grace=duration_pb2.Duration(seconds=_WEEK_SECONDS)
                        ),
                    )
                )
            )
        every = fresh + existing + pool
        for i in range(0, len(every), 1000):
            stub.UpsertVideos(
                svc.UpsertVideosRequest(
                    videos=[
                        pb.Video(
                            id=vid,
                            source_url=f"https://cdn.example.com/load/{vid}.mp4",
                            title=vid,
                            duration_seconds=30.0,
                            width=1080,
                            height=1920,
                            views=1000,
                            tags=["cooking"],
                            language="en",
                            state=pb.VIDEO_STATE_READY,
                        )
                        for vid in every[i : i + 1000]
                    ]
                )
            )
    db = running.db
    urls = dict(
        db.transaction(
            lambda s: s.execute(select(models.Video.id, models.Video.source_url)).all(),
            readonly=True,
        )
    )
    now = datetime.now(UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    past_hour = now.replace(minute=0, second=0, microsecond=0)

    def rows() -> Iterator[dict[str, Any]]:
        for cid in channel_ids:
            for vids, first, step in ((existing, next_hour, 1), (pool, past_hour, -1)):
                for k, vid in enumerate(vids):
                    yield {
                        "id": str(uuid.uuid4()),
                        "video_id": vid,
                        "channel_id": cid,
                        "source_url": urls[vid],
                        "method": DistributionMethod.MANUAL,
                        "state": DistributionState.SCHEDULED,
                        "scheduled_at": first + timedelta(hours=step * k),
                        "actor": "bench.load",
                        "details": {},
                        "transformations": [],
                    }

    def deep_videos() -> Iterator[dict[str, Any]]:
        for k in range(args.assign_depth):
            vid = f"load-deep-{k:06d}"
            yield {"id": vid, "source_url": f"https://cdn.example.com/deep/{vid}.mp4"}

    def deep_rows() -> Iterator[dict[str, Any]]:
        for k in range(args.assign_depth):
            vid = f"load-deep-{k:06d}"
            yield {
                "id": str(uuid.uuid4()),
                "video_id": vid,
                "channel_id": DEEP_CHANNEL,
                "source_url": f"https://cdn.example.com/deep/{vid}.mp4",
                "method": DistributionMethod.MANUAL,
                "state": DistributionState.PUBLISHED,
                "scheduled_at": past_hour - timedelta(hours=k + 1),
                "actor": "bench.load",
                "details": {},
                "transformations": [],
            }

    _insert_all(db, models.Video, deep_videos())
    _insert_all(db, models.Distribution, itertools.chain(rows(), deep_rows()))
    # What autovacuum would have done by now: planner statistics of the rows just loaded
    # (without them PostgreSQL guesses a tiny table and may pick any index on channel_id).
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    counts = {
        "existing": len(existing) * len(channel_ids),
        "pool": len(pool) * len(channel_ids),
        "deep": args.assign_depth,
    }
    return channel_ids, fresh, counts


def _free_future(db: Any, method: str) -> None:
    """Cancels what earlier runs booked ahead on the method's channel, so that every run of
    "Assign empty" and "Assign deep" starts from the same free calendar (the deep channel's
    history is PUBLISHED, in the past, and stays)."""
    from sqlalchemy import update

    from persistence import models
    from persistence.enums import DistributionState

    D = models.Distribution
    channel = EMPTY_CHANNEL if method == "Assign empty" else DEEP_CHANNEL
    db.transaction(
        lambda s: s.execute(
            update(D)
            .where(D.channel_id == channel, D.state == DistributionState.SCHEDULED)
            .values(state=DistributionState.CANCELLED)
        )
    )


def _insert_all(db: Any, table: Any, values: Iterator[dict[str, Any]]) -> None:
    """Bulk inserts in transactions of 5000 rows."""
    from sqlalchemy import insert

    while batch := list(itertools.islice(values, 5000)):
        db.transaction(lambda s, b=batch: s.execute(insert(table), b))


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def run_backend(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One server on a fresh database; every method measured `--repeat` times."""
    rows: list[dict[str, Any]] = []
    with database(backend, args.tmp, "bench-load") as url:
        running = quiet_server(url, log_level="WARNING", max_workers=max(16, 2 * args.threads))
        try:
            t0 = time.perf_counter()
            channel_ids, fresh, counts = seed_load(running, args)
            print(
                f"# {backend}: seeded {len(channel_ids)} channels, {len(fresh)} fresh videos, "
                f"{counts['existing']} existing, {counts['pool']} lease-pool and "
                f"{counts['deep']} deep distributions in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=client_init,
                initargs=(f"127.0.0.1:{running.port}", channel_ids, fresh),
            ) as clients:
                clients.submit(client_measure, "HealthCheck", 1, 0.2).result()  # warm up
                methods = args.methods + (DEPTH_METHODS if args.assign_depth else [])
                runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
                for _ in range(args.repeat):
                    for method in methods:
                        threads = 1 if method in DEPTH_METHODS else args.threads
                        if method in DEPTH_METHODS:
                            _free_future(running.db, method)
                        cpu = time.process_time()
                        run = clients.submit(client_measure, method, threads, args.seconds)
                        measured = run.result()
                        # The server's threads are this process's: its CPU time per call is
                        # steadier than calls/s when other work shares the cores.
                        measured["server_cpu"] = time.process_time() - cpu
                        runs[method].append(measured)
        finally:
            running.stop(grace=1)
    baseline = [r["calls"] / r["elapsed"] for r in runs["HealthCheck"]]
    for method in methods:
        rates = [r["calls"] / r["elapsed"] for r in runs[method]]
        ratios = [rate / base for rate, base in zip(rates, baseline, strict=True)]
        lat = sorted(x for r in runs[method] for x in r["latencies"])
        cpu_ms = [1000 * r["server_cpu"] / max(1, r["calls"]) for r in runs[method]]
        rows.append(
            {
                "backend": backend,
                "method": method,
                "rate": statistics.median(rates),
                "ratio": statistics.median(ratios),
                "p50": percentile(lat, 0.50) * 1000,
                "p99": percentile(lat, 0.99) * 1000,
                "cpu_ms": statistics.median(cpu_ms),
                "errors": sum(r["errors"] for r in runs[method]),
                "first_error": next((r["first_error"] for r in runs[method] if r["errors"]), ""),
                "runs": rates,
            }
        )
    return rows


def main() -> None:
    """Prints one row per (backend, method)."""
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--seconds", type=float, default=5.0, help=f"per method, <= {MAX_SECONDS}")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--existing", type=int, default=0, help="live distributions per channel")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--videos", type=int, default=20000, help="fresh videos for Assign")
    parser.add_argument(
        "--pool", type=int, default=168, help="past-due hours per channel (at most 168)"
    )
    parser.add_argument("--tmp", default="/tmp")
    parser.add_argument(
        "--methods",
        type=lambda text: [m.strip() for m in text.split(",") if m.strip()],
        default=list(METHODS),
        help="comma-separated subset of " + ",".join(METHODS) + " (HealthCheck always runs)",
    )
    parser.add_argument(
        "--assign-depth",
        type=int,
        default=0,
        help="live distributions on the deep channel of the Assign empty/deep rows (0: off)",
    )
    args = parser.parse_args()
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {METHODS}")
    # Every ratio is over the no-op measured in the same run.
    args.methods = ["HealthCheck"] + [m for m in args.methods if m != "HealthCheck"]
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS}]")
    # Every Assign of every run takes a fresh video; every lease pair takes a pool entry.
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"# threads={args.threads} seconds={args.seconds} repeat={args.repeat} "
        f"channels={args.channels} (24 slots/day) existing={args.existing}/channel "
        f"assign-depth={args.assign_depth}",
        flush=True,
    )
    print(
        f"{'backend':<10} {'method':<18} {'calls/s':>8} {'x no-op':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'cpu ms':>7} {'errors':>6}"
    )
    for backend in backends:
        rows = run_backend(backend, args)
        for r in rows:
            print(
                f"{r['backend']:<10} {r['method']:<18} {r['rate']:>8.1f} {r['ratio']:>8.3f} "
                f"{r['p50']:>8.2f} {r['p99']:>8.2f} {r['cpu_ms']:>7.2f} {r['errors']:>6}"
                + (f"  first error: {r['first_error']}" if r["first_error"] else ""),
                flush=True,
            )
        p50 = {r["method"]: r["p50"] for r in rows}
        if args.assign_depth:
            print(
                f"# {backend}: Assign p50 with {args.assign_depth} live on the channel / empty "
                f"channel (deep/empty) = {p50['Assign deep'] / p50['Assign empty']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
