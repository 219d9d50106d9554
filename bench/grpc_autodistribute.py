"""AutoDistribute over gRPC, persisting included, on a real database, beside a bare flow.

Loads a seeded instance (bench.generate) into a fresh database through the API (UpsertChannel,
UpsertVideos), then times one non-dry-run AutoDistribute call from the client's side: scope
loading, candidates, solve, certificate, checker and the write of every distribution and
decision in one transaction. Each repetition uses a new database, since a run writes its plan,
and a new server process, so that its peak RSS is the server's own; the server's per-stage
seconds come from its "AutoDistribute <run>: load=..s ..." log line.

The baseline of the same run is bench.run's bare min-cost flow over every candidate of the same
instance (in its own process): the ratio call / flow is what the target is stated against.
"cpu s" is the server process's CPU time during the call (user + system, the database's work
not included): steadier than wall time when other work shares the cores.

    python -m bench.grpc_autodistribute --size M --backend postgresql --repeat 3
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import re
import resource
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import grpc

from allocator import domain as d
from bench import run as bench_run
from bench.databases import database, quiet_server
from bench.generate import SPECS, Instance, generate
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts

BATCH = 1000


def _next_monday() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 - today.weekday())


def channel_message(c: d.Channel) -> pb.Channel:
    """A domain channel as the API's Channel."""
    f = c.filters
    message = pb.Channel(
        id=c.id,
        timezone=c.timezone,
        filters=pb.ContentFilters(
            min_duration_seconds=f.min_duration_seconds,
            max_duration_seconds=f.max_duration_seconds,
            min_height=f.min_height,
            min_width=f.min_width,
            orientation=pb.Orientation.Value("ORIENTATION_" + f.orientation.value),
            min_views=f.min_views,
            required_tags=f.required_tags,
            any_tags=f.any_tags,
            exclude_tags=f.exclude_tags,
            exclude_watermarked=f.exclude_watermarked,
            languages=f.languages,
        ),
        preferences=pb.Preferences(
            tag_weights=dict(c.preferences.tag_weights), priority=c.preferences.priority
        ),
        schedule=pb.PostingSchedule(
            slots=[
                pb.WeeklySlot(days=list(s.days), local_time=s.local_time.strftime("%H:%M"))
                for s in c.schedule.slots
            ],
            max_posts_per_day=c.schedule.max_posts_per_day,
        ),
    )
    for t in c.transformations:
        message.transformations.add(
            kind=pb.TransformationKind.Value("TRANSFORMATION_KIND_" + t.kind.value),
            trim_seconds=t.trim_seconds,
            orientation=pb.Orientation.Value("ORIENTATION_" + t.orientation.value),
            language=t.language,
        )
    return message


def video_message(v: d.Video, shift: timedelta) -> pb.Video:
    """A domain video as the API's Video, its window moved by `shift`."""
    message = pb.Video(
        id=v.id,
        source_url=v.source_url or f"https://cdn.example.com/{v.id}.mp4",
        duration_seconds=v.duration_seconds,
        width=v.width,
        height=v.height,
        views=v.views,
        tags=v.tags,
        watermarked=v.watermarked,
        language=v.language,
        state=pb.VIDEO_STATE_READY,
    )
    if v.available_from is not None:
        message.available_from.CopyFrom(dt_to_ts(v.available_from + shift))
    if v.expires_at is not None:
        message.expires_at.CopyFrom(dt_to_ts(v.expires_at + shift))
    return message


class _StageLog(logging.Handler):
    """Keeps the per-stage seconds of the server's AutoDistribute log line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("AutoDistribute "):
            stages = message.split(": ", 1)[1].split(";", 1)[0]
            self.seconds = {k: float(v) for k, v in _STAGE.findall(stages)}


_STAGE = re.compile(r"(\w+)=([0-9.]+)s")


def _serve(url: str, conn: Connection) -> None:
    """The server process: sends its port, answers "cpu" with its CPU seconds so far until told
    to stop, then sends its peak RSS and the stage seconds of its AutoDistribute run."""
    stages = _StageLog()
    logger = logging.getLogger("server.usecases.autodistribute")
    logger.setLevel(logging.INFO)
    logger.addHandler(stages)
    running = quiet_server(url)
    conn.send(running.port)
    while conn.recv() == "cpu":
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send(usage.ru_utime + usage.ru_stime)
    running.stop(grace=1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.send({"peak_rss_mb": peak_mb, "stages": stages.seconds})


def one_run(instance: Instance, url: str, time_limit: float) -> dict[str, Any]:
    """Loads the instance through the API of a server process and times one AutoDistribute."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(url, child))
    server.start()
    try:
        port = parent.recv()
        with plan_stub(port) as stub:
            load_s = load_instance(stub, instance)
            parent.send("cpu")
            cpu_before = parent.recv()
            response, call_s = call_autodistribute(stub, instance, time_limit)
            parent.send("cpu")
            cpu_s = parent.recv() - cpu_before
        parent.send("stop")
        server_side = parent.recv()
    finally:
        server.join(timeout=60)
        if server.is_alive():
            server.kill()
    return {
        "load_s": load_s,
        "call_s": call_s,
        "cpu_s": cpu_s,
        "server_s": response.wall_seconds,
        "candidates": response.candidate_count,
        "slots": response.slot_count,
        "assigned": response.assignment_count,
        "objective": response.objective,
        "status": svc.SolverStatus.Name(response.solver_status).removeprefix("SOLVER_STATUS_"),
        "gap": response.gap,
        **server_side,
    }


@contextmanager
def plan_stub(port: int) -> Iterator[svc_grpc.DistributionServiceStub]:
    """A stub to the server on loopback `port` that takes plans of any size."""
    with grpc.insecure_channel(
        f"127.0.0.1:{port}",
        options=[("grpc.max_receive_message_length", 256 * 1024 * 1024)],
    ) as channel:
        yield svc_grpc.DistributionServiceStub(channel)


def load_instance(stub: svc_grpc.DistributionServiceStub, instance: Instance) -> float:
    """Registers the instance's channels and videos through the API; the seconds it took."""
    started = time.perf_counter()
    for c in instance.channels:
        stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel_message(c)))
    shift = shift_of(instance)
    for i in range(0, len(instance.videos), BATCH):
        batch = [video_message(v, shift) for v in instance.videos[i : i + BATCH]]
        stub.UpsertVideos(svc.UpsertVideosRequest(videos=batch))
    return time.perf_counter() - started


def call_autodistribute(
    stub: svc_grpc.DistributionServiceStub, instance: Instance, time_limit: float, **fields: Any
) -> tuple[svc.AutoDistributeResponse, float]:
    """One AutoDistribute over the instance's horizon (moved to next Monday), `fields` added
    to the request; the answer and the call's seconds."""
    shift = shift_of(instance)
    started = time.perf_counter()
    response = stub.AutoDistribute(
        svc.AutoDistributeRequest(
            mode=svc.AUTO_DISTRIBUTE_MODE_FILTER,
            horizon_start=dt_to_ts(instance.start + shift),
            horizon_end=dt_to_ts(instance.end + shift),
            max_channels_per_video=instance.spec.max_channels_per_video,
            min_hours_between=instance.spec.min_hours_between,
            time_limit_seconds=time_limit,
            **fields,
        ),
        timeout=600,
    )
    return response, time.perf_counter() - started


def shift_of(instance: Instance) -> timedelta:
    """Whole weeks that move the instance's horizon to the next Monday (the server would move
    a start in the past to now)."""
    return _next_monday() - instance.start


def bare_flow(size: str, seed: int) -> dict[str, Any]:
    """bench.run's bare min-cost flow over every candidate of the instance, in its own process."""
    result: dict[str, Any] = bench_run.in_child(bench_run.run_baseline, size, seed, "flow")
    return result


STAGES = ("load", "candidates", "solve", "check", "rows", "write")


def row(size: str, backend: str, runs: list[dict[str, Any]], flows: list[dict[str, Any]]) -> str:
    """One table row: medians over the repetitions; the ratio is the median of each call over
    the bare flow measured just before it (a busy machine slows both alike)."""
    last = runs[-1]
    calls = [float(r["call_s"]) for r in runs]
    flow_s = [float(f["seconds"]) for f in flows]
    ratio = statistics.median(c / f for c, f in zip(calls, flow_s, strict=True))
    # The server plans the instance moved to next Monday: same candidates, but the slots
    # around the generated horizon's DST change differ a little, hence the objectives too.
    objective = last["objective"] / max(1, flows[-1]["objective"])
    stage = " ".join(
        f"{statistics.median(float(r['stages'].get(k, 0.0)) for r in runs):>5.2f}" for k in STAGES
    )
    return (
        f"{size:<4} {backend:<10} {last['candidates']:>10} {last['assigned']:>8} "
        f"{last['status']:>8} {objective:>6.4f} {statistics.median(calls):>7.2f} "
        f"{statistics.median(flow_s):>6.2f} {ratio:>5.2f}x "
        f"{statistics.median(float(r['cpu_s']) for r in runs):>6.2f} {stage} "
        f"{statistics.median(float(r['peak_rss_mb']) for r in runs):>7.0f}  "
        + " ".join(f"{c:.2f}/{f:.2f}" for c, f in zip(calls, flow_s, strict=True))
    )


def main() -> None:
    """Prints one table row per (size, backend): medians over the repetitions."""
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=sorted(SPECS))
    parser.add_argument("--backend", action="append", choices=["postgresql", "sqlite"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--tmp", default="/tmp")
    args = parser.parse_args()
    instance = generate(SPECS[args.size], seed=args.seed)
    print(
        f"{'size':<4} {'backend':<10} {'candidates':>10} {'assigned':>8} {'status':>8} "
        f"{'obj/fl':>6} {'call s':>7} {'flow s':>6} {'ratio':>6} {'cpu s':>6} "
        + " ".join(f"{k[:5]:>5}" for k in STAGES)
        + f" {'RSS MB':>7}  call/flow s"
    )
    for backend in args.backend or ["postgresql", "sqlite"]:
        runs, flows = [], []
        for _ in range(args.repeat):
            # The baseline interleaved with the calls, so both see the same machine load.
            flows.append(bare_flow(args.size, args.seed))
            with database(backend, args.tmp) as url:
                runs.append(one_run(instance, url, args.time_limit))
        print(row(args.size, backend, runs, flows), flush=True)


if __name__ == "__main__":
    main()
