"""`vdist worker`: an upload worker against a vdist server, through the public API only."""

from __future__ import annotations

import argparse
import os
import signal
import socket
from typing import Any

from server.cli import connect


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Registers the `worker` subcommand."""
    worker = sub.add_parser("worker", help="run an upload worker against a vdist server")
    connect.add_arguments(worker)
    worker.add_argument("--publisher", default="local", help="entry point in vdist.publishers")
    worker.add_argument("--folder", default="published", help="output folder (local, flaky)")
    worker.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="publisher option, e.g. fail_rate=0.3 (repeatable)",
    )
    worker.add_argument("--worker-id", default=f"worker-{socket.gethostname()}-{os.getpid()}")
    worker.add_argument("--batch", type=int, default=10, help="leases per call")
    worker.add_argument("--lease-seconds", type=int, default=300)
    worker.add_argument("--poll-seconds", type=float, default=2.0, help="wait when idle")
    worker.add_argument(
        "--channel",
        action="append",
        default=[],
        dest="channels",
        help="only this channel (repeatable)",
    )
    worker.add_argument(
        "--lookahead-hours",
        type=float,
        default=0.0,
        help="also publish posts scheduled this far ahead (for platforms that schedule posts)",
    )
    worker.add_argument(
        "--until-idle",
        action="store_true",
        help="exit once no publication is due instead of polling",
    )
    worker.set_defaults(run=run_worker)


def _option(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise SystemExit(f"--option {text!r}: expected KEY=VALUE")
    for kind in (int, float):
        try:
            return key, kind(raw)
        except ValueError:
            pass
    return key, raw


def run_worker(args: argparse.Namespace) -> int:
    """Runs the worker until stopped (or idle, with --until-idle) and prints its counts."""

    from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
    from server.worker.loop import Worker
    from server.worker.publishers import load_publisher

    options = dict(_option(o) for o in args.option)
    publisher = load_publisher(args.publisher, folder=args.folder, **options)
    with connect.open_channel(args) as channel:
        worker = Worker(
            svc_grpc.DistributionServiceStub(channel),
            publisher,
            args.worker_id,
            batch=args.batch,
            lease_seconds=args.lease_seconds,
            poll_seconds=args.poll_seconds,
            channel_ids=tuple(args.channels),
            lookahead_seconds=args.lookahead_hours * 3600,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: worker.stop())
        stats = worker.run(until_idle=args.until_idle)
    print(
        f"leased={stats.leased} published={stats.published} failed={stats.failed} "
        f"lost={stats.lost} stale={stats.stale}"
    )
    return 0
