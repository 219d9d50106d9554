"""`vdist serve --processes N`: N server processes on one address, and their supervisor.

One Python process runs one core (the GIL), so a second core needs a second process. As in
gRPC's Python multiprocessing example, every server process binds the same port with
SO_REUSEPORT and the kernel spreads new connections over them. SO_REUSEPORT is on only for
them, and only after the supervisor has bound the address alone: a busy port (another vdist,
or any program) fails the start, and the supervisor's socket, held until it exits, keeps any
other server from joining the group later (a plain bind conflicts with it).

The supervisor migrates once, starts the processes (spawned: gRPC must not be forked), waits
until each answers, forwards SIGTERM/SIGINT (graceful drain) and SIGHUP (reload the tokens
file) to them, and serves /metrics for the group: each process writes its counters and
histograms to a shared folder (prometheus_client's multiprocess mode) and the supervisor sums
them and adds the domain series once. A process that dies is started again; one that dies
within `_FAST_FAILURE_SECONDS` of its start stops the whole group (it would only die again).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from persistence import migrations
from server.app import CannotListen
from server.settings import Settings

log = logging.getLogger(__name__)
#: prometheus_client reads this variable when it is first imported, in each server process.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_READY_TIMEOUT_SECONDS = 60.0
_FAST_FAILURE_SECONDS = 10.0
_POLL_SECONDS = 0.2


class GroupFailed(RuntimeError):
    """A server process of the group failed to start, or died right after it started."""


def reserve(address: str) -> socket.socket:
    """A socket bound to `address` alone (CannotListen when anything holds it), then opened to
    SO_REUSEPORT so that the group's processes, and only they, may bind it too. Port 0 picks
    a free port: read it with `getsockname()`."""
    host, _, port = address.rpartition(":")
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on {address}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise CannotListen(
            f"cannot listen on {address}: {exc.strerror} (another vdist serve?)"
        ) from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def _server_process(settings: Settings, ready: Any) -> None:
    """One server process of the group: `serve` on the shared port; `ready` gets its pid."""
    from server.app import serve
    from server.observability.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    serve(settings, reuse_port=True, on_ready=lambda _port: ready.put(os.getpid()))


@dataclass
class _Member:
    process: BaseProcess
    started: float


class Group:
    """The supervisor of N server processes sharing `settings.address` (see module doc)."""

    def __init__(self, settings: Settings, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"processes must be >= 1 (got {processes})")
        self._settings = settings
        self._count = processes
        self._context = multiprocessing.get_context("spawn")
        self._ready = self._context.Queue()
        self._members: list[_Member] = []
        self._stopping = threading.Event()
        self._metrics_dir = ""
        self._socket: socket.socket | None = None
        self.port = 0

    def run(self) -> None:
        """Starts the group, supervises it until SIGTERM/SIGINT, then drains and stops it."""
        self._install_signals()
        self._socket = reserve(self._settings.address)
        self.port = self._socket.getsockname()[1]
        endpoint = None
        try:
            if self._settings.migrate_on_start:
                migrations.upgrade(self._settings.database_url)
            endpoint = self._serve_metrics()
            child = self._child_settings()
            for _ in range(self._count):
                self._members.append(self._start(child))
            self._await_ready(self._count)
            host = self._settings.address.rsplit(":", 1)[0]
            if not self._stopping.is_set():
                log.info(
                    "vdist serving on %s:%d with %d processes (pids %s)",
                    host,
                    self.port,
                    self._count,
                    " ".join(str(m.process.pid) for m in self._members),
                )
            while not self._stopping.wait(_POLL_SECONDS):
                self._replace_dead(child)
        finally:
            self._stop_members()
            if endpoint is not None:
                endpoint.stop()
            self._socket.close()
            if self._metrics_dir:
                shutil.rmtree(self._metrics_dir, ignore_errors=True)
        log.info("vdist stopped (%d processes)", self._count)

    def _child_settings(self) -> Settings:
        host = self._settings.address.rsplit(":", 1)[0]
        # The supervisor migrated and serves /metrics; the processes do neither.
        return replace(
            self._settings,
            address=f"{host}:{self.port}",
            migrate_on_start=False,
            metrics_address="",
        )

    def _serve_metrics(self) -> Any:
        if not self._settings.metrics_address:
            return None
        from persistence.database import Database
        from server.observability.metrics import multiprocess_registry, serve_registry

        self._metrics_dir = tempfile.mkdtemp(prefix="vdist-metrics-")
        # Inherited by the spawned processes, which import prometheus_client afresh.
        os.environ[MULTIPROC_ENV] = self._metrics_dir
        db = Database(self._settings.database_url)
        registry = multiprocess_registry(
            self._metrics_dir, db, self._settings.metrics_cache_seconds
        )
        return serve_registry(registry, self._settings.metrics_address)

    def _start(self, settings: Settings) -> _Member:
        process = self._context.Process(
            target=_server_process, args=(settings, self._ready), name="vdist-server"
        )
        process.start()
        return _Member(process, time.monotonic())

    def _await_ready(self, count: int) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        ready = 0
        while ready < count:
            if self._stopping.is_set():
                return
            dead = [m for m in self._members if not m.process.is_alive()]
            if dead:
                raise GroupFailed(
                    f"server process {dead[0].process.pid} exited with code "
                    f"{dead[0].process.exitcode} while starting (its log above says why)"
                )
            if time.monotonic() > deadline:
                raise GroupFailed(f"server processes not ready after {_READY_TIMEOUT_SECONDS}s")
            try:
                self._ready.get(timeout=_POLL_SECONDS)
                ready += 1
            except queue.Empty:
                continue

    def _replace_dead(self, settings: Settings) -> None:
        for i, member in enumerate(self._members):
            if member.process.is_alive() or self._stopping.is_set():
                continue
            lived = time.monotonic() - member.started
            log.error(
                "server process %d exited with code %s after %.0fs",
                member.process.pid,
                member.process.exitcode,
                lived,
            )
            self._forget(member)
            if lived < _FAST_FAILURE_SECONDS:
                raise GroupFailed(
                    f"server process {member.process.pid} died {lived:.1f}s after its start"
                )
            self._members[i] = self._start(settings)
            self._await_ready(1)

    def _forget(self, member: _Member) -> None:
        if self._metrics_dir and member.process.pid is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(member.process.pid, self._metrics_dir)

    def _stop_members(self) -> None:
        for member in self._members:
            if member.process.is_alive() and member.process.pid is not None:
                os.kill(member.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._settings.grace_seconds + 10
        for member in self._members:
            member.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if member.process.is_alive():
                log.error("server process %d did not stop: killed", member.process.pid)
                member.process.kill()
                member.process.join()

    def _install_signals(self) -> None:
        def on_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: stopping %d processes", signum, self._count)
            self._stopping.set()

        def on_hangup(_signum: int, _frame: FrameType | None) -> None:
            for member in self._members:
                if member.process.is_alive() and member.process.pid is not None:
                    os.kill(member.process.pid, signal.SIGHUP)

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_hangup)


def serve_processes(settings: Settings, processes: int) -> None:
    """`vdist serve --processes N`: runs a `Group` until SIGTERM or SIGINT."""
    Group(settings, processes).run()
