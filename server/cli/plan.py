"""`vdist plan`: run AutoDistribute from the command line and print a per-channel table."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from server.api.converters import dt_to_ts
from server.cli import connect


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Registers the `plan` subcommand."""
    plan = sub.add_parser("plan", help="run AutoDistribute (a dry run unless --apply)")
    connect.add_arguments(plan)
    plan.add_argument("--mode", choices=["filter", "schedule"], default="filter")
    plan.add_argument(
        "--channel",
        action="append",
        default=[],
        dest="channels",
        help="only this channel (repeatable; default every active channel)",
    )
    plan.add_argument(
        "--video",
        action="append",
        default=[],
        dest="videos",
        help="only this video (repeatable; default every READY video)",
    )
    plan.add_argument("--start", type=_when, help="horizon start, ISO 8601 (default now)")
    plan.add_argument("--days", type=float, default=14.0, help="horizon length in days")
    plan.add_argument("--max-channels", type=int, default=1, help="max channels per video")
    plan.add_argument("--min-score", type=int, default=0)
    plan.add_argument("--min-hours-between", type=int, default=0)
    plan.add_argument("--time-limit", type=float, default=30.0, help="solver seconds")
    plan.add_argument("--apply", action="store_true", help="write the plan (default: dry run)")
    plan.set_defaults(run=run_plan)


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_request(args: argparse.Namespace) -> svc.AutoDistributeRequest:
    """The AutoDistributeRequest the command line describes."""
    start = args.start or datetime.now(UTC)
    return svc.AutoDistributeRequest(
        mode=svc.AUTO_DISTRIBUTE_MODE_SCHEDULE
        if args.mode == "schedule"
        else svc.AUTO_DISTRIBUTE_MODE_FILTER,
        video_ids=args.videos,
        channel_ids=args.channels,
        horizon_start=dt_to_ts(start),
        horizon_end=dt_to_ts(start + timedelta(days=args.days)),
        max_channels_per_video=args.max_channels,
        min_score=args.min_score,
        min_hours_between=args.min_hours_between,
        time_limit_seconds=args.time_limit,
        dry_run=not args.apply,
    )


def format_plan(response: svc.AutoDistributeResponse) -> str:
    """The run's summary line, a per-channel table and the totals."""
    status = svc.SolverStatus.Name(response.solver_status).removeprefix("SOLVER_STATUS_")
    written = "dry run: nothing written (--apply writes)" if response.dry_run else "written"
    width = max([len("channel"), *(len(c.channel_id) for c in response.channels)])
    lines = [
        f"run {response.run_id}  {status}  objective {response.objective}  "
        f"bound {response.best_bound}  gap {response.gap:.4%}  ({written})",
        f"{'channel':<{width}}  {'free':>6}  {'filled':>6}  {'score':>12}",
    ]
    for c in response.channels:
        lines.append(
            f"{c.channel_id:<{width}}  {c.free_slots:>6}  {c.filled:>6}  {c.total_score:>12}"
        )
    lines.append(
        f"{'total':<{width}}  {response.slot_count:>6}  {response.assignment_count:>6}  "
        f"{response.objective:>12}"
    )
    lines.append(
        f"candidates {response.candidate_count}, skipped videos {response.skipped_count}, "
        f"{response.wall_seconds:.2f} s"
    )
    return "\n".join(lines)


def run_plan(args: argparse.Namespace) -> int:
    """Calls AutoDistribute on the server and prints the table."""
    with connect.open_channel(args) as channel:
        stub = svc_grpc.DistributionServiceStub(channel)
        try:
            response = stub.AutoDistribute(build_request(args), timeout=args.time_limit * 3 + 30)
        except grpc.RpcError as exc:
            print(f"AutoDistribute failed: {exc.code().name}: {exc.details()}")
            return 1
    print(format_plan(response))
    return 0
