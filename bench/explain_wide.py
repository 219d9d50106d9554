"""Explain of one video against 20 and 500 channels: latency beside the no-op RPC, same run.

One real server per backend (server.app.create_server on 127.0.0.1:0, access log off) on a
fresh database (SQLite file, or a throwaway PostgreSQL database dropped afterwards), seeded in
bulk through the persistence models: `--channels` channels with varied filters, tag weights,
a 24-slot day and transformations (configs written by the API's own converter), READY videos,
and `--live` live SCHEDULED distributions per channel; every 10th channel already carries the
explained video and every 7th another video of the same source URL, so duplicates are found.

Then, per case, one client thread calls back to back (sequential calls: the latency is the
server's time plus one loopback round trip, the no-op's latency is that round trip):

    HealthCheck        the no-op RPC (grpc.health.v1 Check)
    Explain 1x20       one video x the first 20 channels
    Explain 1xN        one video x every channel (N = --channels)
    in-process 1xN     the same request without gRPC: the read transaction with the use case
                       (explain.explain) and the response message (responses.explain)

    python -m bench.explain_wide [--backend sqlite|postgresql|both] [--calls 200]
                                 [--channels 500] [--live 4] [--repeat 3]
                                 [--cases "Explain 1x20,..."] [--profile FILE]

Each case runs `--calls` calls after 10 warm-up calls, `--repeat` times; median and p99 are
over every call of every run, "x no-op" is the case's median over the no-op's median.
`--cases` keeps the no-op and the named cases only (a baseline commit's 1x20 without its slow
1xN). `--profile FILE` then runs `--calls` in-process 1xN calls under cProfile, saves the
statistics to FILE and prints the 25 functions of most cumulative time.
The module only uses what the code before the Explain batching had too, so the same file
measures a baseline commit in its own worktree.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from bench.databases import database, quiet_server

#: Seconds per call: the code before the batching took seconds for 1x500 on a busy machine.
CALL_TIMEOUT = 60.0
EXPLAINED = "wide-v-explained"
_TAGS = ("cooking", "news", "cats", "travel", "music", "sport")


def _channel_message(i: int) -> Any:
    """A channel with a configuration that varies with `i` (every filter kind appears)."""
    from distribution.v1 import resources_pb2 as pb

    message = pb.Channel(
        id=f"wide-ch-{i:04d}",
        display_name=f"wide {i}",
        platform="youtube",
        timezone=("UTC", "Europe/Berlin", "America/New_York")[i % 3],
        schedule=pb.PostingSchedule(
            slots=[
                pb.WeeklySlot(days=[1, 2, 3, 4, 5, 6, 7], local_time=f"{h:02d}:00")
                for h in range(24)
            ],
            max_posts_per_day=12,
        ),
        preferences=pb.Preferences(
            tag_weights={_TAGS[i % 6]: 2.5, _TAGS[(i + 1) % 6]: -1.0}, priority=i % 10
        ),
    )
    f = message.filters
    f.min_duration_seconds = 5 * (i % 3)
    f.max_duration_seconds = (0, 20, 60)[i % 3]
    f.min_height = (0, 720, 1080)[i % 3]
    f.orientation = (pb.ORIENTATION_UNSPECIFIED, pb.ORIENTATION_HORIZONTAL)[i % 2]
    f.min_views = (0, 100, 5000)[i % 3]
    f.exclude_tags.extend([_TAGS[(i + 3) % 6]])
    f.languages.extend([("en", "de", "fr")[i % 3]])
    message.transformations.add(kind=pb.TRANSFORMATION_KIND_TRIM)
    if i % 2:
        message.transformations.add(kind=pb.TRANSFORMATION_KIND_CROP)
    if i % 4 == 1:
        message.transformations.add(kind=pb.TRANSFORMATION_KIND_BURN_CAPTIONS, language="de")
    return message


def _seed(db: Any, channels: int, live: int) -> list[str]:
    """Channels, videos and live distributions in bulk; returns the channel ids."""
    from sqlalchemy import insert

    from persistence import models
    from server.api import converters

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    messages = [_channel_message(i) for i in range(channels)]
    channel_rows = [
        {
            "id": m.id,
            "display_name": m.display_name,
            "platform": m.platform,
            "timezone": m.timezone,
            "config": converters.channel_config(m),
        }
        for m in messages
    ]
    source = "https://cdn.example.com/wide/explained.mp4"
    video_rows = [
        {
            "id": EXPLAINED,
            "source_url": source,
            "duration_seconds": 45.0,
            "width": 1080,
            "height": 1920,
            "views": 2000,
            "tags": ["cooking", "news"],
            "language": "en",
        },
        {"id": "wide-v-twin", "source_url": source, "duration_seconds": 45.0},
    ] + [
        {"id": f"wide-v-{k:04d}", "source_url": f"https://cdn.example.com/wide/{k}.mp4"}
        for k in range(live)
    ]

    sources = {row["id"]: row["source_url"] for row in video_rows}

    def distributions() -> Iterator[dict[str, Any]]:
        for i, m in enumerate(messages):
            vids = [f"wide-v-{k:04d}" for k in range(live)]
            if i % 10 == 0:
                vids.append(EXPLAINED)
            elif i % 7 == 0:  # one live distribution of a source URL per channel
                vids.append("wide-v-twin")
            for k, vid in enumerate(vids):
                yield {
                    "id": str(uuid.uuid4()),
                    "video_id": vid,
                    "channel_id": m.id,
                    "source_url": sources[vid],
                    "method": "MANUAL",
                    "state": "SCHEDULED",
                    "scheduled_at": now + timedelta(hours=k + 1),
                    "details": {},
                    "transformations": [],
                }

    db.transaction(lambda s: s.execute(insert(models.Channel), channel_rows))
    db.transaction(lambda s: s.execute(insert(models.Video), video_rows))
    rows = distributions()
    while batch := list(itertools.islice(rows, 5000)):
        db.transaction(lambda s, b=batch: s.execute(insert(models.Distribution), b))
    return [m.id for m in messages]


def _time(call: Callable[[], object], calls: int) -> list[float]:
    """Milliseconds of `calls` back-to-back calls, after 10 warm-up calls."""
    for _ in range(10):
        call()
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _profile(call: Callable[[], object], calls: int, path: str) -> None:
    """`calls` calls of `call` under cProfile (after 10 warm-up calls), saved and summarised."""
    for _ in range(10):
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    profiler.dump_stats(path)
    pstats.Stats(path).sort_stats("cumulative").print_stats(25)


def _cases(running: Any, channel_ids: list[str]) -> dict[str, Callable[[], object]]:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from distribution.v1 import distribution_service_pb2 as svc
    from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
    from server.api import responses
    from server.usecases import explain

    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    stub = svc_grpc.DistributionServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    check = health_pb2.HealthCheckRequest()
    narrow = svc.ExplainRequest(video_ids=[EXPLAINED], channel_ids=channel_ids[:20])
    wide = svc.ExplainRequest(video_ids=[EXPLAINED], channel_ids=channel_ids)
    command = explain.ExplainCommand((EXPLAINED,), tuple(channel_ids))
    n = len(channel_ids)

    def in_process() -> object:
        pairs = running.db.unit_of_work(lambda r: explain.explain(r, command), readonly=True)
        return responses.explain(pairs)

    return {
        "HealthCheck": lambda: health.Check(check, timeout=CALL_TIMEOUT),
        "Explain 1x20": lambda: stub.Explain(narrow, timeout=CALL_TIMEOUT),
        f"Explain 1x{n}": lambda: stub.Explain(wide, timeout=CALL_TIMEOUT),
        f"in-process 1x{n}": in_process,
    }


def run_backend(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One server on a fresh database; every case measured `--repeat` times."""
    with database(backend, args.tmp, "bench-explain") as url:
        running = quiet_server(url, log_level="WARNING")
        try:
            t0 = time.perf_counter()
            channel_ids = _seed(running.db, args.channels, args.live)
            print(
                f"# {backend}: seeded {len(channel_ids)} channels, "
                f"{args.live} live distributions each in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            cases = _cases(running, channel_ids)
            if args.profile:
                _profile(cases[f"in-process 1x{len(channel_ids)}"], args.calls, args.profile)
            if args.cases:
                cases = {k: v for k, v in cases.items() if k == "HealthCheck" or k in args.cases}
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.repeat):
                for name, call in cases.items():
                    samples[name] += _time(call, args.calls)
        finally:
            running.stop(grace=1)
            running.db.dispose()
    noop = statistics.median(samples["HealthCheck"])
    rows = []
    for name, values in samples.items():
        values.sort()
        median = statistics.median(values)
        rows.append(
            {
                "backend": backend,
                "case": name,
                "median": median,
                "p99": values[min(len(values) - 1, int(0.99 * len(values)))],
                "ratio": median / noop,
            }
        )
    return rows


def main() -> None:
    """Parses the options, runs each backend and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--calls", type=int, default=200, help="per case and run")
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--live", type=int, default=4, help="live distributions per channel")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tmp", default="/tmp")
    parser.add_argument(
        "--cases", type=lambda v: v.split(","), default=None, help="comma-separated case names"
    )
    parser.add_argument("--profile", default="", help="cProfile of in-process 1xN to this file")
    args = parser.parse_args()
    if args.channels < 20:
        parser.error("--channels must be >= 20")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"# calls={args.calls} repeat={args.repeat} channels={args.channels} live={args.live}")
    print(f"{'backend':<10} {'case':<18} {'median ms':>10} {'p99 ms':>9} {'x no-op':>8}")
    for backend in backends:
        for row in run_backend(backend, args):
            print(
                f"{row['backend']:<10} {row['case']:<18} {row['median']:>10.2f} "
                f"{row['p99']:>9.2f} {row['ratio']:>8.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
