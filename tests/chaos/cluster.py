"""The processes of a chaos run: a private PostgreSQL cluster, vdist replicas, upload workers.

Everything listens on 127.0.0.1 on ports picked free at start, and everything started here is
registered so that `Processes.kill_all` (called from `finally` and `atexit`) ends it. The
shared PostgreSQL server on 127.0.0.1:5432 is never contacted: the cluster gets its own port,
its own socket directory and its own data directory in a temporary folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
SHARED_POSTGRES_PORT = 5432


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (never 5432)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != SHARED_POSTGRES_PORT:
            return port
    raise RuntimeError("no free port on 127.0.0.1")


class Processes:
    """Every subprocess of the run, each in its own process group, killed at the end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen[bytes]] = []
        self._closed = False

    def start(self, cmd: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._closed:
                raise RuntimeError("shutting down: no new processes")
            proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own group: Ctrl-C does not reach it, killpg ends it
            )
            self._procs = [p for p in self._procs if p.poll() is None]
            self._procs.append(proc)
        return proc

    def kill_all(self) -> None:
        """Kills every process started so far; from now on `start` refuses."""
        with self._lock:
            self._closed = True
            procs, self._procs = self._procs, []
        for proc in procs:
            kill_group(proc, signal.SIGKILL)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


def kill_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Sends `signum` to the process group of `proc` (which it leads), if it still runs."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def _postgres_bin() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise SystemExit("chaos: no initdb found (looked in /usr/lib/postgresql/*/bin and PATH)")


class PostgresCluster:
    """A throwaway PostgreSQL cluster owned by this run (initdb, pg_ctl, then rm -rf).

    initdb refuses to run as root, so as root every PostgreSQL tool runs as the `postgres`
    OS user (runuser) and the data, socket and log paths belong to that user.
    """

    def __init__(self, root: Path) -> None:
        self.bin = _postgres_bin()
        self.root = root
        self.data = root / "pgdata"
        self.sockets = root / "pgsock"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.started = False
        self._as_postgres = os.geteuid() == 0
        self.restarts = 0

    @property
    def url(self) -> str:
        """The SQLAlchemy URL the replicas use."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/vdist"

    @property
    def dsn(self) -> str:
        """A libpq DSN of the vdist database, for the checks."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=vdist connect_timeout=5"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        cmd = [str(self.bin / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )

    def create(self) -> None:
        """initdb, start, and create the empty `vdist` database."""
        self.sockets.mkdir()
        self.log.touch()
        if self._as_postgres:
            pg = pwd.getpwnam("postgres")
            os.chmod(self.root, 0o755)  # mkdtemp makes it 0700: postgres must get through
            for path in (self.sockets, self.log):
                os.chown(path, pg.pw_uid, pg.pw_gid)
            self.data.mkdir(mode=0o700)
            os.chown(self.data, pg.pw_uid, pg.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        self.start()
        with psycopg.connect(self.admin_dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE vdist")

    def admin_dsn(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=5"

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c shared_buffers=64MB"
        )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                  "-w", "-t", "60", "start")  # fmt: skip
        self.started = True

    def restart(self, mode: str) -> float:
        """`pg_ctl restart -m mode`; returns how long it took."""
        began = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                  "-m", mode, "-w", "-t", "60", "restart")  # fmt: skip
        self.restarts += 1
        return time.monotonic() - began

    def stop(self, mode: str = "fast") -> None:
        if not self.started:
            return
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")
            self.started = False
        except (RuntimeError, subprocess.TimeoutExpired):
            self._kill_postmaster()

    def _kill_postmaster(self) -> None:
        pid_file = self.data / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of our own postmaster only
        self.started = False

    def destroy(self) -> None:
        """Stops the cluster (immediately if need be) and removes its directory."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def make_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="vdist-chaos-"))


def wait_serving(address: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Polls grpc.health.v1 until the server at `address` says SERVING (bounded; gives up
    at once when `alive` says the process is gone)."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline and alive():
            try:
                answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    return False


class Replica:
    """One `vdist serve` process; it keeps its port across kills and restarts."""

    def __init__(self, index: int, procs: Processes, env: dict[str, str], logs: Path) -> None:
        self.index = index
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._procs = procs
        self._env = {**env, "VDIST_ADDRESS": self.address}
        self.log_path = logs / f"replica-{index}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.unclean_exits: list[int] = []

    def start(self, timeout: float = 60) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = self._procs.start(
                [sys.executable, "-m", "server.cli", "serve"], self._env, log
            )
        self.starts += 1
        if not wait_serving(self.address, timeout, self.alive):
            raise RuntimeError(f"replica {self.index} at {self.address} did not become SERVING")

    def kill(self) -> None:
        """kill -9: no draining, no goodbye."""
        if self.proc is not None:
            kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 20) -> None:
        """SIGTERM and wait for a clean exit (recorded when it is not)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            kill_group(self.proc, signal.SIGKILL)
            code = self.proc.wait(timeout=10)
        if code != 0:
            self.unclean_exits.append(code)


class WorkerProcess:
    """One `vdist worker --publisher flaky` subprocess; a restart gets a new worker id."""

    def __init__(
        self,
        index: int,
        procs: Processes,
        target: str,
        folder: Path,
        logs: Path,
        *,
        fail_rate: float,
        timeout_rate: float,
        outage_rate: float,
        lease_seconds: int,
        lookahead_hours: float,
    ) -> None:
        self.index = index
        self._procs = procs
        self._target = target
        self.folder = folder
        self.log_path = logs / f"worker-{index}.log"
        self._rates = (fail_rate, timeout_rate, outage_rate)
        self._lease_seconds = lease_seconds
        self._lookahead_hours = lookahead_hours
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.crashes: list[int] = []  # exits that were not our kill -9 or SIGTERM

    def start(self) -> None:
        fail, timeout, outage = self._rates
        generation = self.starts
        cmd = [
            sys.executable, "-m", "server.cli", "worker",
            "--target", self._target,
            "--publisher", "flaky",
            "--folder", str(self.folder),
            "--option", f"fail_rate={fail}",
            "--option", f"timeout_rate={timeout}",
            "--option", f"outage_rate={outage}",
            "--option", f"seed={1000 * self.index + generation}",
            "--option", "delay_seconds=0.3",  # posted, not yet reported: where kills land
            "--worker-id", f"chaos-w{self.index}-g{generation}",
            "--batch", "4",
            "--lease-seconds", str(self._lease_seconds),
            "--poll-seconds", "0.5",
            "--lookahead-hours", str(self._lookahead_hours),
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = self._procs.start(cmd, {**os.environ, "VDIST_LOG_LEVEL": "WARNING"}, log)
        self.starts += 1

    def check(self) -> None:
        """Restarts the worker when it exited on its own (and records the exit code)."""
        if self.proc is not None and self.proc.poll() is not None:
            self.crashes.append(self.proc.returncode)
            self.start()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)
