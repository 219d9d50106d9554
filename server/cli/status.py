"""`vdist status`: a first look at a server: health, version, backlog, channels and runs.

Exits 0 when the server reports SERVING (its database answers), 1 otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from server.cli import connect
from server.cli.errors import EXIT_FAILED, rpc_message

PAGE_SIZE = 1000
#: Pages of channels or runs counted before saying "at least N".
MAX_PAGES = 10


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Registers the `status` subcommand."""
    status = sub.add_parser(
        "status",
        help="show a server's health, version, upload backlog, channels and runs",
        description="Show the target, its health (SERVING follows the database), the server "
        "version, the publications due now and how long the oldest has waited, and how many "
        "channels and runs it has. Exits 0 when SERVING, 1 otherwise.",
    )
    connect.add_arguments(status)
    status.set_defaults(run=run_status)


def _count(fetch: Callable[[str], tuple[int, str]]) -> str:
    """Pages through a listing: the count, or "at least N" after MAX_PAGES pages."""
    total, token = 0, ""
    for _ in range(MAX_PAGES):
        n, token = fetch(token)
        total += n
        if not token:
            return str(total)
    return f"at least {total}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def run_status(args: argparse.Namespace) -> int:
    """Prints one `name  value` line per fact; a failed call prints its error as the value."""
    with connect.open_channel(args) as channel:
        health = connect.check_reachable(channel, args, patient=False)
        stub = svc_grpc.DistributionServiceStub(channel)
        health_name = health_pb2.HealthCheckResponse.ServingStatus.Name(health)
        facts: list[tuple[str, str]] = [("target", args.target), ("health", health_name)]

        def ask(name: str, call: Callable[[], list[tuple[str, str]]]) -> None:
            try:
                facts.extend(call())
            except grpc.RpcError as exc:
                facts.append((name, f"unknown ({rpc_message(exc, None)})"))

        def stats() -> list[tuple[str, str]]:
            s = stub.Stats(svc.StatsRequest(), timeout=30)
            due = f"{s.due_now}"
            if s.due_now:
                due += f" (oldest due {_duration(s.oldest_due_seconds)})"
            return [("version", s.server_version or "unknown"), ("due now", due)]

        def channels() -> list[tuple[str, str]]:
            def page(token: str) -> tuple[int, str]:
                r = stub.ListChannels(
                    svc.ListChannelsRequest(page_size=PAGE_SIZE, page_token=token), timeout=30
                )
                return len(r.channels), r.next_page_token

            return [("channels", _count(page))]

        def runs() -> list[tuple[str, str]]:
            def page(token: str) -> tuple[int, str]:
                r = stub.ListRuns(
                    svc.ListRunsRequest(page_size=PAGE_SIZE, page_token=token), timeout=30
                )
                return len(r.runs), r.next_page_token

            return [("runs", _count(page))]

        ask("stats", stats)
        ask("channels", channels)
        ask("runs", runs)
    width = max(len(name) for name, _ in facts)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in facts))
    return 0 if health == health_pb2.HealthCheckResponse.SERVING else EXIT_FAILED
