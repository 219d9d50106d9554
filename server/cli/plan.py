"""`vdist plan`: run AutoDistribute from the command line and show the plan.

Prints the run's summary and per-channel table, then which video goes to which channel and
when (every assignment: a truncated response of a written run is paged with ListDistributions
by run id), then why videos were left out (paged with ListDecisions). `--json` prints the
AutoDistributeResponse as protojson instead, for scripts.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

import grpc
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from distribution.v1 import resources_pb2 as pb
from server.api.actor import ACTOR_METADATA_KEY
from server.cli import connect
from server.cli.plan_format import format_assignments, format_changes, format_plan, format_skipped

#: Seconds between progress lines while AutoDistribute runs.
PROGRESS_SECONDS = 5.0
PAGE_SIZE = 1000


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Registers the `plan` subcommand."""
    plan = sub.add_parser(
        "plan",
        help="run AutoDistribute and show the plan (a dry run unless --apply)",
        description="Run AutoDistribute on the server and print the plan: a summary, the "
        "per-channel table, every assignment (channel, slot in UTC, video, score) and every "
        "left-out video with its reason. Nothing is written unless --apply.",
    )
    connect.add_arguments(plan)
    plan.add_argument(
        "--mode",
        choices=["filter", "schedule"],
        default="filter",
        help="filter: best channel per video; schedule: also the best slot",
    )
    connect.add_channel_argument(plan, "every active channel")
    plan.add_argument(
        "--video",
        action="append",
        default=[],
        dest="videos",
        metavar="ID",
        help="only this video (repeatable; default: every READY video)",
    )
    plan.add_argument(
        "--start",
        type=_when,
        metavar="TIME",
        help="horizon start, ISO 8601, UTC unless it has an offset (default: now)",
    )
    plan.add_argument("--days", type=float, default=14.0, help="horizon length in days")
    plan.add_argument("--max-channels", type=int, default=1, help="max channels per video")
    plan.add_argument("--min-score", type=int, default=0, help="leave out pairs scoring less")
    plan.add_argument(
        "--min-hours-between",
        type=int,
        default=0,
        help="hours between one video's posts on two channels (0: no constraint)",
    )
    plan.add_argument("--time-limit", type=float, default=30.0, help="solver seconds")
    plan.add_argument(
        "--apply",
        nargs="?",
        const="",
        default=None,
        metavar="RUN",
        help="alone: plan and write at once; with the run id of a dry run (a proposal): write "
        "exactly that plan, or refuse naming what changed (default: a dry run, kept as a "
        "proposal)",
    )
    plan.add_argument(
        "--replan",
        action="store_true",
        help="let the run move or drop not-yet-leased automatic distributions after the freeze",
    )
    plan.add_argument(
        "--freeze-until",
        type=_when,
        metavar="TIME",
        help="with --replan: leave distributions before this time alone (default: now + 1 h)",
    )
    plan.add_argument(
        "--change-penalty",
        type=int,
        default=0,
        help="with --replan: score a distribution must gain to leave its channel (default: 1)",
    )
    plan.add_argument(
        "--expect-digest",
        metavar="DIGEST",
        help="with --apply: the digest a dry run printed (INPUT:PLAN); the run writes only the "
        "plan that dry run showed, or refuses (default: no check)",
    )
    plan.add_argument(
        "--request-id",
        metavar="ID",
        help="idempotency key: a repeat returns the first run's response (default: none)",
    )
    plan.add_argument(
        "--actor",
        metavar="NAME",
        help="who asks, sent as x-vdist-actor (default: the token's principal, else anonymous)",
    )
    plan.add_argument(
        "--json",
        action="store_true",
        help="print the AutoDistributeResponse as protojson instead of tables",
    )
    plan.add_argument(
        "--progress",
        action="store_true",
        help=f"a progress line on stderr every {PROGRESS_SECONDS:g} s while planning "
        "(default: only when stderr is a terminal)",
    )
    plan.set_defaults(run=run_plan)


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2030-01-01 or 2030-01-01T09:00Z)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def build_request(args: argparse.Namespace) -> svc.AutoDistributeRequest:
    """The AutoDistributeRequest the command line describes."""
    start = args.start or datetime.now(UTC)
    request = svc.AutoDistributeRequest(
        mode=svc.AUTO_DISTRIBUTE_MODE_SCHEDULE
        if args.mode == "schedule"
        else svc.AUTO_DISTRIBUTE_MODE_FILTER,
        video_ids=args.videos,
        channel_ids=args.channels,
        horizon_start=_ts(start),
        horizon_end=_ts(start + timedelta(days=args.days)),
        max_channels_per_video=args.max_channels,
        min_score=args.min_score,
        min_hours_between=args.min_hours_between,
        time_limit_seconds=args.time_limit,
        dry_run=args.apply is None,
        request_id=args.request_id or "",
        replan=args.replan,
        change_penalty=args.change_penalty,
        expected_input_digest=(args.expect_digest or "").partition(":")[0],
        expected_plan_digest=(args.expect_digest or "").partition(":")[2],
    )
    if args.freeze_until is not None:
        request.freeze_until.CopyFrom(_ts(args.freeze_until))
    return request


def _pages_of_distributions(
    stub: svc_grpc.DistributionServiceStub, run_id: str, metadata: Sequence[tuple[str, str]]
) -> Iterator[pb.Distribution]:
    token = ""
    while True:
        page = stub.ListDistributions(
            svc.ListDistributionsRequest(run_id=run_id, page_size=PAGE_SIZE, page_token=token),
            metadata=metadata,
            timeout=60,
        )
        yield from page.distributions
        token = page.next_page_token
        if not token:
            return


def _skips_of_run(
    stub: svc_grpc.DistributionServiceStub, run_id: str, metadata: Sequence[tuple[str, str]]
) -> Iterator[tuple[str, str, str]]:
    token = ""
    while True:
        page = stub.ListDecisions(
            svc.ListDecisionsRequest(run_id=run_id, page_size=PAGE_SIZE, page_token=token),
            metadata=metadata,
            timeout=60,
        )
        for d in page.decisions:
            if d.kind == pb.DECISION_KIND_SKIPPED:
                code = d.details.fields["code"].string_value if "code" in d.details.fields else ""
                yield (d.video_id, code, d.reason)
        token = page.next_page_token
        if not token:
            return


class Progress:
    """`planning... 12 s` on stderr every PROGRESS_SECONDS (rewritten in place on a terminal)."""

    def __init__(self, stream: TextIO, *, forced: bool, what: str) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.enabled = forced or self.tty
        self.what = what
        self.started = time.monotonic()
        self.shown = False

    def tick(self) -> None:
        if not self.enabled:
            return
        line = f"{self.what}... {time.monotonic() - self.started:.0f} s"
        if self.tty:
            self.stream.write(f"\r{line}\033[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.enabled and self.tty and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _auto_distribute(
    stub: svc_grpc.DistributionServiceStub,
    request: svc.AutoDistributeRequest,
    metadata: Sequence[tuple[str, str]],
    timeout: float,
    progress: Progress,
) -> svc.AutoDistributeResponse:
    future = stub.AutoDistribute.future(request, timeout=timeout, metadata=metadata)
    try:
        progress.tick()
        while True:
            try:
                response: svc.AutoDistributeResponse = future.result(timeout=PROGRESS_SECONDS)
                return response
            except grpc.FutureTimeoutError:
                progress.tick()
    except KeyboardInterrupt:
        future.cancel()
        raise
    finally:
        progress.done()


def run_plan(args: argparse.Namespace) -> int:
    """Calls AutoDistribute on the server and prints the plan."""
    metadata = [(ACTOR_METADATA_KEY, args.actor)] if args.actor else []
    request = build_request(args)
    with connect.open_channel(args) as channel:
        connect.check_reachable(channel, args, patient=False)
        stub = svc_grpc.DistributionServiceStub(channel)
        if args.apply:
            response = stub.ApplyRun(
                svc.ApplyRunRequest(run_id=args.apply, request_id=args.request_id or ""),
                metadata=metadata,
                timeout=args.time_limit * 3 + 30,
            )
        else:
            what = "planning" if request.dry_run else "planning and writing"
            progress = Progress(sys.stderr, forced=args.progress, what=what)
            timeout = args.time_limit * 3 + 30
            response = _auto_distribute(stub, request, metadata, timeout, progress)
        if args.json:
            print(json_format.MessageToJson(response))
            return 0
        assignments: list[pb.Distribution] = list(response.assignments)
        skipped = [(s.video_id, s.code, s.reason) for s in response.skipped]
        if response.truncated and not response.dry_run:
            if len(assignments) < response.assignment_count:
                assignments = list(_pages_of_distributions(stub, response.run_id, metadata))
            if len(skipped) < response.skipped_count:
                skipped = list(_skips_of_run(stub, response.run_id, metadata))
    lines = [
        format_plan(response),
        "",
        *format_changes(response.changes, response.change_count),
        "",
        *format_assignments(assignments, response.assignment_count),
        "",
        *format_skipped(skipped, response.skipped_count),
    ]
    print("\n".join(lines))
    return 0
