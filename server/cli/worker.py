"""`vdist worker`: an upload worker against a vdist server, through the public API only."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
from typing import Any

from server.cli import connect
from server.cli.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Registers the `worker` subcommand."""
    from server.worker.publishers import default_folder

    worker = sub.add_parser(
        "worker",
        help="run an upload worker against a vdist server",
        description="Lease due publications, publish each through a publisher plugin and "
        "report the outcome, until SIGTERM or SIGINT (or idle, with --until-idle). Logs one "
        "line per batch at INFO.",
    )
    connect.add_arguments(worker)
    worker.add_argument(
        "--publisher",
        default="local",
        help="publisher plugin: an entry point in the group vdist.publishers (built in: local, "
        "flaky)",
    )
    worker.add_argument(
        "--folder",
        default=str(default_folder()),
        help="output folder of the local and flaky publishers (from $XDG_DATA_HOME, else "
        "~/.local/share)",
    )
    worker.add_argument(
        "--option",
        action="append",
        default=[],
        type=_option,
        metavar="KEY=VALUE",
        help="publisher option, e.g. fail_rate=0.3 or delay_seconds=1 (repeatable; default: none)",
    )
    worker.add_argument(
        "--worker-id",
        default=f"worker-{socket.gethostname()}-{os.getpid()}",
        help="name in the leases and the audit trail",
    )
    worker.add_argument("--batch", type=int, default=10, help="leases per call")
    worker.add_argument(
        "--lease-seconds", type=int, default=300, help="how long a lease lasts unreported"
    )
    worker.add_argument(
        "--poll-seconds", type=float, default=2.0, help="wait between calls when idle"
    )
    connect.add_channel_argument(worker)
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
    key = key.strip()
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. fail_rate=0.3)")
    if key == "folder":
        raise argparse.ArgumentTypeError(f"{text!r}: the folder is --folder")
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

    options = dict(args.option)
    try:
        publisher = load_publisher(args.publisher, folder=args.folder, **options)
    except LookupError as exc:  # no such entry point
        raise UsageError(str(exc)) from None
    except TypeError as exc:  # the factory does not take an option
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
        if unknown is None:
            raise
        raise UsageError(
            f"--option {unknown.group(1)}: publisher {args.publisher!r} takes no such option"
        ) from None
    except ValueError as exc:  # the factory refused a value
        raise UsageError(f"publisher {args.publisher!r}: {exc}") from None
    except OSError as exc:  # e.g. the folder cannot be created
        raise UsageError(f"publisher {args.publisher!r}: {exc.filename}: {exc.strerror}") from None
    with connect.open_channel(args) as channel:
        connect.check_reachable(channel, args, patient=True)
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
