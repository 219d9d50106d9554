"""AutoDistribute over gRPC, persisting included, on a real database.

Loads a seeded instance (bench.generate) into a fresh database through the API (UpsertChannel,
UpsertVideos), then times one non-dry-run AutoDistribute call from the client's side: scope
loading, candidates, solve, certificate, checker and the write of every distribution and
decision in one transaction. Each repetition uses a new database, since a run writes its plan.

    python -m bench.grpc_autodistribute --size M --backend postgresql --repeat 3
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from datetime import UTC, datetime, timedelta

import grpc

from allocator import domain as d
from bench.databases import database
from bench.generate import SPECS, Instance, generate
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts
from server.app import create_server
from server.settings import Settings

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


def one_run(instance: Instance, url: str, time_limit: float) -> dict[str, float | int | str]:
    """Loads the instance through the API and times one AutoDistribute call."""
    running = create_server(
        Settings.from_env(environ={}, address="127.0.0.1:0", database_url=url, access_log=False)
    )
    try:
        with grpc.insecure_channel(
            f"127.0.0.1:{running.port}",
            options=[("grpc.max_receive_message_length", 256 * 1024 * 1024)],
        ) as channel:
            stub = svc_grpc.DistributionServiceStub(channel)
            shift = _next_monday() - instance.start
            loaded = time.perf_counter()
            for c in instance.channels:
                stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel_message(c)))
            for i in range(0, len(instance.videos), BATCH):
                batch = [video_message(v, shift) for v in instance.videos[i : i + BATCH]]
                stub.UpsertVideos(svc.UpsertVideosRequest(videos=batch))
            load_s = time.perf_counter() - loaded
            started = time.perf_counter()
            response = stub.AutoDistribute(
                svc.AutoDistributeRequest(
                    mode=svc.AUTO_DISTRIBUTE_MODE_FILTER,
                    horizon_start=dt_to_ts(instance.start + shift),
                    horizon_end=dt_to_ts(instance.end + shift),
                    max_channels_per_video=instance.spec.max_channels_per_video,
                    min_hours_between=instance.spec.min_hours_between,
                    time_limit_seconds=time_limit,
                ),
                timeout=600,
            )
            call_s = time.perf_counter() - started
    finally:
        running.stop(grace=1)
    return {
        "load_s": load_s,
        "call_s": call_s,
        "server_s": response.wall_seconds,
        "candidates": response.candidate_count,
        "slots": response.slot_count,
        "assigned": response.assignment_count,
        "status": svc.SolverStatus.Name(response.solver_status).removeprefix("SOLVER_STATUS_"),
        "gap": response.gap,
    }


def main() -> None:
    """Prints one table row per (size, backend): medians over the repetitions."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("server.usecases.autodistribute").setLevel(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=sorted(SPECS))
    parser.add_argument("--backend", action="append", choices=["postgresql", "sqlite"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--tmp", default="/tmp")
    args = parser.parse_args()
    instance = generate(SPECS[args.size], seed=0)
    print(
        f"{'size':<5} {'backend':<10} {'candidates':>10} {'slots':>6} {'assigned':>8} "
        f"{'status':>8} {'gap':>6} {'call s':>7} {'server s':>8} {'load s':>7}  runs"
    )
    for backend in args.backend or ["postgresql", "sqlite"]:
        runs = []
        for _ in range(args.repeat):
            with database(backend, args.tmp) as url:
                runs.append(one_run(instance, url, args.time_limit))
        last = runs[-1]
        calls = [float(r["call_s"]) for r in runs]
        print(
            f"{args.size:<5} {backend:<10} {last['candidates']:>10} {last['slots']:>6} "
            f"{last['assigned']:>8} {last['status']:>8} {float(last['gap']):>6.2%} "
            f"{statistics.median(calls):>7.2f} "
            f"{statistics.median(float(r['server_s']) for r in runs):>8.2f} "
            f"{statistics.median(float(r['load_s']) for r in runs):>7.1f}  "
            + " ".join(f"{c:.2f}" for c in calls)
        )


if __name__ == "__main__":
    main()
