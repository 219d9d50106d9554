"""SuggestPlacements of one video over every active channel at the L size, beside baselines.

One real server per backend (server.app.create_server on 127.0.0.1:0, access log off) on a
fresh database (SQLite file, or a throwaway PostgreSQL database dropped afterwards), seeded in
bulk through the persistence models with the L instance of bench.generate (100k READY videos,
500 channels in 40 zones, 1-10 posts a day; the videos' windows moved to start now):

- each channel's posting slots of the next 14 days booked from the nearest on, a share drawn
  per channel (`--full` of the channels completely, the others uniformly 0-90%), so that
  some channels answer with a free slot days ahead and the full ones with a displacement;
  70% of the bookings AUTO_FILTER (movable), 30% MANUAL, SCHEDULED, random scores;
- `--history` days of PUBLISHED distributions on every past slot, as a running service has.

Then, per run, one client thread calls back to back (the latency is the server's time plus
one loopback round trip):

    HealthCheck        the no-op RPC (grpc.health.v1 Check)
    Explain 1x500      the first suggested video x every channel (bench.explain_wide's case)
    Suggest 1x500      SuggestPlacements, channel_ids empty (every active channel), horizon
                       14 days, cycling over `--videos` different videos
    in-process         the same requests without gRPC: the read transaction with the use case
                       (suggest.suggest) and the response message (responses.suggest_placements)

    python -m bench.suggest_wide [--backend sqlite|postgresql|both] [--calls 40] [--repeat 5]
                                 [--videos 8] [--full 0.2] [--history 7] [--profile]
                                 [--gc-freeze]

p50 and p90 are per run (`--calls` calls after 5 warm-up calls per case), the table shows
their medians over `--repeat` runs; "x no-op" and "x Explain" divide the case's p50 by the
no-op's and Explain's p50 of the same run (median of those ratios). `--profile` prints a
cProfile of the in-process case (SQLite, after the runs). `--gc-freeze` moves everything
alive after the seeding out of the garbage collector's reach (`gc.freeze()`), which takes the
full collections, scanning the whole heap, out of the tail latencies.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import pstats
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import numpy as np

from allocator import calendar
from allocator import domain as d
from bench.databases import database, quiet_server
from bench.generate import SPECS, Instance, generate
from bench.grpc_autodistribute import channel_message
from bench.load import percentile

#: Seconds per call: a slow SuggestPlacements must show in the table, not hang the run.
CALL_TIMEOUT = 60.0
HORIZON = timedelta(days=14)
TARGET_MS = 100.0


def _video_row(v: d.Video, shift: timedelta) -> dict[str, Any]:
    return {
        "id": v.id,
        "source_url": v.source_url,
        "title": v.id,
        "duration_seconds": v.duration_seconds,
        "width": v.width,
        "height": v.height,
        "views": v.views,
        "tags": list(v.tags),
        "watermarked": v.watermarked,
        "language": v.language,
        "available_from": v.available_from + shift if v.available_from else None,
        "expires_at": v.expires_at + shift if v.expires_at else None,
    }


def _bookings(
    instance: Instance, now: datetime, args: argparse.Namespace, rng: np.random.Generator
) -> Iterator[dict[str, Any]]:
    """Live bookings of the next 14 days and PUBLISHED history, per channel (see the module
    docstring); a video, and a source URL, at most once per channel."""
    sources = [v.source_url for v in instance.videos]
    # One video per source URL: the re-uploads would break the live uniqueness on a channel.
    first = np.array(sorted({url: i for i, url in reversed(list(enumerate(sources)))}.values()))
    for c in instance.channels:
        ahead = calendar.slot_times(c.schedule, c.timezone, now, now + HORIZON)
        past = calendar.slot_times(c.schedule, c.timezone, now - timedelta(days=args.history), now)
        share = 1.0 if rng.random() < args.full else float(rng.uniform(0.0, 0.9))
        booked = ahead[: round(share * len(ahead))]
        picks = first[rng.choice(len(first), size=len(booked) + len(past), replace=False)]
        for k, at in enumerate(booked + past):
            live = k < len(booked)
            auto = live and rng.random() < 0.7
            yield {
                "id": str(uuid.uuid4()),
                "video_id": f"v{picks[k]}",
                "channel_id": c.id,
                "source_url": sources[picks[k]],
                "method": "AUTO_FILTER" if auto else "MANUAL",
                "state": "SCHEDULED" if live else "PUBLISHED",
                "scheduled_at": at,
                "score": int(rng.integers(2_000, 20_000)),
                "actor": "bench.suggest_wide",
                "details": {},
                "transformations": [],
            }


def _insert_all(db: Any, table: Any, values: Iterator[dict[str, Any]]) -> int:
    """Bulk inserts in transactions of 5000 rows; returns the number of rows."""
    from sqlalchemy import insert

    count = 0
    while batch := list(itertools.islice(values, 5000)):
        db.transaction(lambda s, b=batch: s.execute(insert(table), b))
        count += len(batch)
    return count


def seed(db: Any, instance: Instance, args: argparse.Namespace) -> tuple[list[str], int]:
    """The instance in bulk; returns the suggested video ids and the number of live rows."""
    from persistence import models
    from server.api import converters

    now = datetime.now(UTC)
    rng = np.random.default_rng(args.seed)
    channels = (
        {
            "id": c.id,
            "display_name": c.id,
            "platform": "youtube",
            "timezone": c.timezone,
            "config": converters.channel_config(channel_message(c)),
        }
        for c in instance.channels
    )
    _insert_all(db, models.Channel, channels)
    shift = now - instance.start
    _insert_all(db, models.Video, (_video_row(v, shift) for v in instance.videos))
    rows = list(_bookings(instance, now, args, rng))
    _insert_all(db, models.Distribution, iter(rows))
    # What autovacuum would have done by now (bench.load does the same): planner statistics.
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    # Videos without a window, so that the video itself blocks nothing.
    plain = [v.id for v in instance.videos if v.available_from is None and v.expires_at is None]
    chosen = rng.choice(len(plain), size=args.videos, replace=False)
    live = sum(1 for r in rows if r["state"] == "SCHEDULED")
    return [plain[i] for i in chosen], live


def _time(call: Callable[[], object], calls: int) -> list[float]:
    """Milliseconds of `calls` back-to-back calls, after 5 warm-up calls."""
    for _ in range(5):
        call()
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return sorted(out)


def _cases(running: Any, videos: list[str], channel_ids: list[str]) -> dict[str, Any]:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from distribution.v1 import distribution_service_pb2 as svc
    from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
    from server.api import responses
    from server.api.converters import dt_to_ts
    from server.usecases import suggest

    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    stub = svc_grpc.DistributionServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    check = health_pb2.HealthCheckRequest()
    explain = svc.ExplainRequest(video_ids=videos[:1], channel_ids=channel_ids)
    turn = itertools.cycle(videos)
    n = len(channel_ids)

    def over_grpc() -> object:
        end = dt_to_ts(datetime.now(UTC) + HORIZON)
        request = svc.SuggestPlacementsRequest(video_id=next(turn), horizon_end=end)
        return stub.SuggestPlacements(request, timeout=CALL_TIMEOUT)

    def in_process() -> object:
        command = suggest.SuggestCommand(
            next(turn), (), suggest.DEFAULT_LIMIT, datetime.now(UTC) + HORIZON
        )
        found = running.db.unit_of_work(lambda r: suggest.suggest(r, command), readonly=True)
        return responses.suggest_placements(found)

    return {
        "HealthCheck": lambda: health.Check(check, timeout=CALL_TIMEOUT),
        f"Explain 1x{n}": lambda: stub.Explain(explain, timeout=CALL_TIMEOUT),
        f"Suggest 1x{n}": over_grpc,
        "in-process": in_process,
    }


def _statements(running: Any, call: Callable[[], object]) -> int:
    """SQL statements one call sends once the configurations are cached (a first call reads
    them, and may open the pool's first connection): one listener on the server's engine."""
    from sqlalchemy import event

    call()
    count = [0]

    def listen(*_: object) -> None:
        count[0] += 1

    event.listen(running.db.engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        event.remove(running.db.engine, "before_cursor_execute", listen)
    return count[0]


def _profile(call: Callable[[], object], calls: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def run_backend(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One server on a fresh database; every case measured `--repeat` times."""
    runs: dict[str, list[list[float]]] = {}
    with database(backend, args.tmp, "bench-suggest") as url:
        running = quiet_server(url, log_level="WARNING")
        try:
            t0 = time.perf_counter()
            instance = generate(SPECS[args.size], args.seed)
            videos, live = seed(running.db, instance, args)
            channel_ids = sorted(c.id for c in instance.channels)
            n_videos = len(instance.videos)
            # The server shares this process: without the 100k generated videos on its heap,
            # its garbage collections cost what they cost in a server of its own.
            del instance
            gc.collect()
            if args.gc_freeze:  # what a server could do after its start: see docs/performance.md
                gc.freeze()
            cases = _cases(running, videos, channel_ids)
            print(
                f"# {backend}: seeded {n_videos} videos, {len(channel_ids)} channels, "
                f"{live} live distributions in {time.perf_counter() - t0:.1f} s; "
                f"{_statements(running, cases['in-process'])} statements a Suggest call",
                flush=True,
            )
            for _ in range(args.repeat):
                for name, call in cases.items():
                    runs.setdefault(name, []).append(_time(call, args.calls))
            if args.profile and backend == "sqlite":
                print(_profile(cases["in-process"], args.calls), flush=True)
        finally:
            running.stop(grace=1)
            running.db.dispose()
    names = list(runs)
    noop, explain = names[0], names[1]
    rows = []
    for name, per_run in runs.items():
        p50s = [statistics.median(r) for r in per_run]
        rows.append(
            {
                "backend": backend,
                "case": name,
                "p50": statistics.median(p50s),
                "p90": statistics.median(percentile(r, 0.9) for r in per_run),
                "x_noop": statistics.median(
                    p / statistics.median(n) for p, n in zip(p50s, runs[noop], strict=True)
                ),
                "x_explain": statistics.median(
                    p / statistics.median(e) for p, e in zip(p50s, runs[explain], strict=True)
                ),
                "runs": p50s,
            }
        )
    return rows


def main() -> None:
    """Parses the options, runs each backend and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--calls", type=int, default=40, help="per case and run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--videos", type=int, default=8, help="different videos suggested")
    parser.add_argument("--full", type=float, default=0.2, help="share of fully booked channels")
    parser.add_argument("--history", type=int, default=7, help="days of PUBLISHED history")
    parser.add_argument("--size", default="L", choices=sorted(SPECS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() the heap before measuring"
    )
    parser.add_argument("--tmp", default="/tmp")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"# size={args.size} seed={args.seed} calls={args.calls} repeat={args.repeat} "
        f"videos={args.videos} full={args.full} history={args.history}d "
        f"gc_freeze={args.gc_freeze}"
    )
    print(
        f"{'backend':<10} {'case':<14} {'p50 ms':>8} {'p90 ms':>8} {'x no-op':>8} "
        f"{'x Explain':>9}  p50 of each run"
    )
    for backend in backends:
        for row in run_backend(backend, args):
            each = ", ".join(f"{p:.1f}" for p in row["runs"])
            print(
                f"{row['backend']:<10} {row['case']:<14} {row['p50']:>8.2f} {row['p90']:>8.2f} "
                f"{row['x_noop']:>8.1f} {row['x_explain']:>9.2f}  {each}",
                flush=True,
            )
    print(f"# target: Suggest 1x500 p50 under {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
