"""The `vdist` command: serve, migrate, worker (and plan)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from persistence import migrations
from server import plan_report
from server.settings import Settings

Command = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        address=getattr(args, "address", None), database_url=getattr(args, "database_url", None)
    )


def _serve(args: argparse.Namespace) -> int:
    from server.app import serve

    serve(_settings(args))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    migrations.upgrade(settings.database_url)
    print(f"migrated {settings.database_url} to head")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="vdist", description="video distribution service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC server (migrates first)")
    serve.add_argument("--address", help="host:port (env VDIST_ADDRESS, default 127.0.0.1:50051)")
    serve.add_argument("--database-url", help="SQLAlchemy URL (env VDIST_DATABASE_URL)")
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser("migrate", help="migrate the database schema to head and exit")
    migrate.add_argument("--database-url", help="SQLAlchemy URL (env VDIST_DATABASE_URL)")
    migrate.set_defaults(run=_migrate)

    worker = sub.add_parser("worker", help="run an upload worker against a vdist server")
    worker.add_argument("--target", default="127.0.0.1:50051", help="vdist server host:port")
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
    worker.set_defaults(run=_worker)
    plan_report.add_parser(sub)
    return parser


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


def _worker(args: argparse.Namespace) -> int:
    import grpc

    from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
    from server.worker.loop import Worker
    from server.worker.publishers import load_publisher

    options = dict(_option(o) for o in args.option)
    publisher = load_publisher(args.publisher, folder=args.folder, **options)
    with grpc.insecure_channel(args.target) as channel:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vdist` console script."""
    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = build_parser().parse_args(argv)
    run: Command = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
