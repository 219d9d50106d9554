"""The `vdist` command: serve, migrate, worker, plan, status and report.

Every failure a person can cause or meet ends as one line on standard error and an exit code
(`server/cli/errors.py`), here in `main` and nowhere else; `vdist --debug <command>` shows the
traceback instead. docs/cli.md describes every subcommand.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from server.cli import errors, plan, report, status, worker
from server.settings import Settings

Command = Callable[[argparse.Namespace], int]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows `(default: ...)` after every option that has a default worth showing; options
    without one say in their help what happens when they are left out."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if "%(default)" in help_text or "default:" in help_text:
            return help_text
        if action.default is None or action.default is False or action.default == []:
            return help_text
        if action.default == argparse.SUPPRESS:
            return help_text
        if not action.option_strings:
            return help_text
        return f"{help_text} (default: %(default)s)".lstrip()


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: `vdist plan: argument --start: ...`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(errors.EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _address(text: str) -> str:
    """host:port, the port a number 0..65535 (0: any free port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not host:port (e.g. 127.0.0.1:50051)")
    return text


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # shown in --help only: an unparsable URL is reported when used
        return url


def check_database_url(url: str) -> None:
    """A UsageError unless `url` names a database vdist can open: a known, installed driver,
    and for SQLite an existing folder."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise errors.UsageError(
            f"database URL {url!r} is not a URL (e.g. sqlite:///vdist.db or "
            "postgresql+psycopg://user@host/dbname)"
        ) from None
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise errors.UsageError(
            f"database URL {_safe_url(url)}: unknown driver {parsed.drivername!r} "
            "(vdist speaks sqlite and postgresql+psycopg)"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise errors.UsageError(
            f"database URL {_safe_url(url)}: driver {parsed.drivername!r} is not installed ({exc})"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(str(parsed.database)).expanduser().parent
        if not folder.is_dir():
            raise errors.UsageError(
                f"database URL {_safe_url(url)}: no folder {folder} for the SQLite file"
            )


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(
        address=getattr(args, "address", None),
        database_url=getattr(args, "database_url", None),
        processes=getattr(args, "processes", None),
    )
    if settings.processes < 1:
        raise errors.UsageError(f"--processes/VDIST_PROCESSES: {settings.processes} is not >= 1")
    args.resolved_database_url = _safe_url(settings.database_url)
    try:
        _address(settings.address)
    except argparse.ArgumentTypeError as exc:
        raise errors.UsageError(f"VDIST_ADDRESS: {exc}") from None
    check_database_url(settings.database_url)
    return settings


def check_can_listen(address: str) -> None:
    """A UsageError when `address` is busy or not of this machine, found before migrating.

    The server checks again when it binds (CannotListen); this only makes the usual mistakes
    one line early, before the migration logs and grpcio's own error line."""
    host, _, port = address.rpartition(":")
    if int(port) == 0:
        return
    try:
        infos = socket.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise errors.UsageError(f"cannot listen on {address}: {exc.strerror}") from None
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            busy = " (another vdist serve?)" if exc.errno == errno.EADDRINUSE else ""
            raise errors.UsageError(f"cannot listen on {address}: {exc.strerror}{busy}") from None


def _serve(args: argparse.Namespace) -> int:
    from server.app import serve

    settings = _settings(args)
    check_can_listen(settings.address)
    if settings.processes > 1:
        from server.processes import serve_processes

        serve_processes(settings, settings.processes)
    else:
        serve(settings)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from persistence import migrations

    settings = _settings(args)
    migrations.upgrade(settings.database_url)
    print(f"migrated {args.resolved_database_url} to head")
    return 0


def _database_argument(parser: argparse.ArgumentParser) -> None:
    current = os.environ.get("VDIST_DATABASE_URL") or Settings().database_url
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL, sqlite:///FILE or postgresql+psycopg://USER@HOST/DB "
        f"(env VDIST_DATABASE_URL; default: {_safe_url(current)})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = Parser(
        prog="vdist",
        description="video distribution service (docs/cli.md describes every command)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of a failure instead of one line",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the gRPC server (migrates first)",
        description="Run the gRPC server until SIGTERM or SIGINT; the other settings come "
        "from VDIST_* variables (docs/operations.md).",
    )
    serve.add_argument(
        "--address",
        type=_address,
        help="host:port to listen on; port 0 picks a free one (env VDIST_ADDRESS; default: "
        f"{os.environ.get('VDIST_ADDRESS') or Settings().address})",
    )
    serve.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="server processes sharing the address, one per core to use (env "
        "VDIST_PROCESSES; default: 1)",
    )
    _database_argument(serve)
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser(
        "migrate",
        help="migrate the database schema to head and exit",
        description="Migrate the database schema to head and exit.",
    )
    _database_argument(migrate)
    migrate.set_defaults(run=_migrate)

    worker.add_parser(sub)
    plan.add_parser(sub)
    status.add_parser(sub)
    report.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vdist` console script."""
    args = build_parser().parse_args(argv)
    run: Command = args.run
    try:
        _configure_logging()
        return run(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"vdist {args.command}: interrupted", file=sys.stderr)
        return errors.EXIT_INTERRUPTED
    except SystemExit as exc:
        # Settings raise SystemExit("VDIST_X='y' is not a valid int") for a bad variable.
        if args.debug or not isinstance(exc.code, str):
            raise
        print(f"vdist {args.command}: {errors.one_line(exc.code)}", file=sys.stderr)
        return errors.EXIT_USAGE
    except Exception as exc:
        if args.debug:
            raise
        message, code = errors.describe(exc, args)
        print(f"vdist {args.command}: {message}", file=sys.stderr)
        return code


def _configure_logging() -> None:
    from server.observability.logs import configure_logging

    settings = Settings.from_env()
    try:
        configure_logging(settings.log_level, settings.log_format)
    except ValueError as exc:
        raise errors.UsageError(str(exc)) from None
    # Alembic announces each of its plugins at INFO when it is imported: noise on a terminal.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
