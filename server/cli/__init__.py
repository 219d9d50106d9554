"""The `vdist` command: serve, migrate, worker (and plan)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from persistence import migrations
from server.cli import connect, plan, worker
from server.observability.logs import configure_logging
from server.settings import Settings

Command = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        address=getattr(args, "address", None), database_url=getattr(args, "database_url", None)
    )


def _serve(args: argparse.Namespace) -> int:
    from server.api.access import PrincipalsFileError
    from server.api.transport import UnsafeExposure
    from server.app import CannotListen, serve

    try:
        serve(_settings(args))
    except (CannotListen, UnsafeExposure, PrincipalsFileError) as exc:
        print(f"vdist serve: {exc}", file=sys.stderr)
        return 2
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

    worker.add_parser(sub)
    plan.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vdist` console script."""
    settings = Settings.from_env()
    try:
        configure_logging(settings.log_level, settings.log_format)
    except ValueError as exc:
        print(f"vdist: {exc}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except connect.ConnectionSettingsError as exc:
        print(f"vdist {args.command}: {exc}", file=sys.stderr)
        return 2
