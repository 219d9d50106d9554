"""`make chaos`: three vdist replicas on a private PostgreSQL cluster, under load and faults.

    python -m tests.chaos.run [--seconds 180] [--clients 12] [--replicas 3] [--workers 3]

1. initdb a private cluster in a temporary folder (as the `postgres` OS user when run as
   root) on a free port of 127.0.0.1, and create the `vdist` database;
2. start the replicas (`vdist serve`) and wait for each through grpc.health.v1;
3. run the mixed load (client threads, in-process ledger workers, `vdist worker --publisher
   flaky` subprocesses) for --seconds while killing a replica (kill -9, restart) every ~15 s,
   killing workers (mostly between their upload and its report) and restarting PostgreSQL
   once with `-m fast` and once with `-m immediate`;
4. replay every acknowledged request_id once more, stop everything cleanly, check every
   invariant of DESIGN.md in SQL and the ledger against the database;
5. print the violations and one summary line; exit 1 when any violation, lost write, INTERNAL
   or UNKNOWN answer was found, or a fault could not be injected or undone (a replica that
   did not come back).

The cluster and every subprocess are removed at the end, on failure and on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distribution.v1 import distribution_service_pb2 as svc
from tests.chaos import checks
from tests.chaos.cluster import (
    PostgresCluster,
    Processes,
    Replica,
    WorkerProcess,
    make_root,
)
from tests.chaos.ledger import Ledger
from tests.chaos.load import (
    LOOKAHEAD_HOURS,
    REQUEST_TYPES,
    Api,
    Client,
    LedgerWorker,
    Shared,
    chaos_channel,
)

CHANNELS = 8
SHOW = 5  # violations printed per kind


def log(message: str) -> None:
    print(f"chaos [{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Faults:
    """The fault schedule, run in one thread: replica kills, PostgreSQL restarts, worker kills."""

    def __init__(
        self,
        replicas: list[Replica],
        workers: list[WorkerProcess],
        cluster: PostgresCluster,
        seconds: float,
        kill_every: float,
        stop: threading.Event,
    ) -> None:
        self.replicas = replicas
        self.workers = workers
        self.cluster = cluster
        self.seconds = seconds
        self.kill_every = kill_every
        self.stop = stop
        self.rng = random.Random(31337)
        self.replica_kills = 0
        self.worker_kills = 0
        self.errors: list[str] = []
        self.pg_restart_seconds: list[float] = []

    def run(self, began: float) -> None:
        pg_restarts = [(0.35, "fast"), (0.7, "immediate")]
        next_kill = began + self.kill_every
        next_worker_kill = began + self.kill_every / 2
        for _ in range(10_000):
            now = time.monotonic()
            if self.stop.is_set() or now >= began + self.seconds:
                return
            try:
                if pg_restarts and now >= began + pg_restarts[0][0] * self.seconds:
                    _, mode = pg_restarts.pop(0)
                    log(f"pg_ctl restart -m {mode}")
                    took = self.cluster.restart(mode)
                    self.pg_restart_seconds.append(took)
                    log(f"PostgreSQL back after {took:.1f}s")
                elif now >= next_kill:
                    self._kill_replica()
                    next_kill = time.monotonic() + self.kill_every * self.rng.uniform(0.8, 1.2)
                elif now >= next_worker_kill:
                    self._kill_worker()
                    next_worker_kill = time.monotonic() + self.rng.uniform(5, 12)
                for worker in self.workers:
                    worker.check()
            except Exception as exc:  # a fault that failed is reported, the run goes on
                self.errors.append(f"{type(exc).__name__}: {exc}")
                log(f"fault injection failed: {exc}")
            self.stop.wait(0.2)

    def _kill_replica(self) -> None:
        replica = self.rng.choice(self.replicas)
        log(f"kill -9 replica {replica.index} ({replica.address})")
        replica.kill()
        self.replica_kills += 1
        self.stop.wait(self.rng.uniform(0.5, 2.0))
        replica.start(timeout=60)
        log(f"replica {replica.index} SERVING again")

    def _kill_worker(self) -> None:
        worker = self.rng.choice(self.workers)
        # The flaky publisher sleeps 0.3 s after posting and before reporting: wait for a
        # fresh manifest, so the kill most likely lands between an upload and its report.
        folder = Path(self.workers[0].folder)
        deadline = time.monotonic() + 3
        latest = _newest_mtime(folder)
        while time.monotonic() < deadline and not self.stop.is_set():
            if _newest_mtime(folder) > latest:
                break
            time.sleep(0.05)
        worker.kill()
        self.worker_kills += 1
        worker.start()


def _newest_mtime(folder: Path) -> float:
    try:
        return max((p.stat().st_mtime for p in folder.glob("*.json")), default=0.0)
    except OSError:
        return 0.0


def final_replays(api: Api, ledger: Ledger, limit: int, seconds: float) -> int:
    """Sends every acknowledged request once more (bounded): the first answer must come back."""
    done = 0
    deadline = time.monotonic() + seconds
    entries = ledger.acked_requests()
    random.Random(5).shuffle(entries)
    for entry in entries[:limit]:
        if time.monotonic() >= deadline:
            break
        request = REQUEST_TYPES[entry.method].FromString(entry.request)
        answer, error = api.call(entry.method, request, timeout=20, budget=30)
        done += 1
        if answer is None:
            with ledger.lock:
                ledger.replay_mismatches.append(
                    f"{entry.method} request_id={entry.request_id}: final replay failed "
                    f"with {error.code().name if error else '?'}"
                )
            continue
        ledger.answered(
            entry.method,
            entry.request_id,
            answer.SerializeToString(deterministic=True),
            replay=True,
        )
    return done


def server_errors(paths: list[Path]) -> list[str]:
    """Tracebacks of unexpected errors (answered INTERNAL) found in the replicas' logs."""
    found: list[str] = []
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for match in re.finditer(r"^.*(?:unexpected error|Traceback).*$", text, re.M):
            tail = text[match.start() : match.start() + 3000].splitlines()
            last = next(
                (line for line in tail[1:] if line and not line.startswith((" ", "Traceback"))),
                "",
            )
            found.append(f"{path.name}: {match.group(0).strip()[:160]} ... {last[:240]}")
    return found


def _show(title: str, groups: dict[str, list[str]]) -> None:
    for kind, items in sorted(groups.items()):
        print(f"{title} [{kind}]: {len(items)}", flush=True)
        for item in items[:SHOW]:
            print(f"  - {item}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__)
    parser.add_argument("--seconds", type=float, default=180.0, help="load duration (180)")
    parser.add_argument("--clients", type=int, default=12, help="client threads (12)")
    parser.add_argument("--replicas", type=int, default=3, help="vdist serve processes (3)")
    parser.add_argument("--workers", type=int, default=3, help="vdist worker processes (3)")
    parser.add_argument("--ledger-workers", type=int, default=2, help="in-process workers (2)")
    parser.add_argument("--kill-every", type=float, default=15.0, help="replica kill period (15)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, data)")
    args = parser.parse_args(argv)
    if not 10 <= args.seconds <= 420 or not 1 <= args.clients <= 64:
        parser.error("--seconds must be 10..420 and --clients 1..64")
    if not 1 <= args.replicas <= 5 or not 0 <= args.workers <= 8:
        parser.error("--replicas must be 1..5 and --workers 0..8")

    procs = Processes()
    stop = threading.Event()
    background: list[threading.Thread] = []  # joined before the cluster goes
    root = make_root()
    cluster = PostgresCluster(root)
    cleaned = threading.Event()

    def cleanup() -> None:
        if cleaned.is_set():
            return
        cleaned.set()
        stop.set()  # the load and fault threads end; no process starts after kill_all
        procs.kill_all()
        for thread in background:
            thread.join(timeout=70)  # a PostgreSQL restart in progress finishes first
        if args.keep:
            cluster.stop("immediate")
            print(f"chaos: kept {root}", flush=True)
        else:
            cluster.destroy()

    atexit.register(cleanup)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored
    try:
        return _run(args, procs, root, cluster, stop, background)
    except KeyboardInterrupt:
        print("chaos: interrupted; cleaning up", flush=True)
        return 130
    finally:
        cleanup()


def _run(
    args: argparse.Namespace,
    procs: Processes,
    root: Path,
    cluster: PostgresCluster,
    stop: threading.Event,
    background: list[threading.Thread],
) -> int:
    started = time.monotonic()
    logs = root / "logs"
    logs.mkdir()
    manifests = root / "published"
    manifests.mkdir()
    log(f"private PostgreSQL in {root} on 127.0.0.1:{cluster.port} ({cluster.bin})")
    cluster.create()
    env = {
        **os.environ,
        "VDIST_DATABASE_URL": cluster.url,
        "VDIST_ACCESS_LOG": "false",
        "VDIST_PAGE_TOKEN_SECRET": "chaos-shared-page-token-secret",
        "VDIST_LOG_LEVEL": "WARNING",
        "VDIST_GRACE_SECONDS": "5",
        "VDIST_HEALTH_PROBE_SECONDS": "1",
        "VDIST_OUTAGE_COOLDOWN_SECONDS": "2",
        "VDIST_OUTAGE_MAX_COOLDOWN_SECONDS": "8",
        "VDIST_MAX_WORKERS": "16",
    }
    replicas = [Replica(i, procs, env, logs) for i in range(args.replicas)]
    for replica in replicas:  # the first migrates; the others find the schema current
        replica.start(timeout=90)
    log("replicas SERVING: " + ", ".join(r.address for r in replicas))

    ledger = Ledger()
    api = Api([r.address for r in replicas], ledger)
    channel_ids = []
    for index in range(CHANNELS):
        answer, error = api.call(
            "UpsertChannel", svc.UpsertChannelRequest(channel=chaos_channel(index))
        )
        if answer is None:
            raise RuntimeError(f"UpsertChannel failed: {error}")
        ledger.ack()
        ledger.channels.add(answer.id)
        channel_ids.append(answer.id)

    target = "ipv4:" + ",".join(r.address for r in replicas)  # pick_first fails over
    workers = [
        WorkerProcess(
            i,
            procs,
            target,
            manifests,
            logs,
            fail_rate=0.3,
            timeout_rate=0.05,
            outage_rate=0.01,
            lease_seconds=4,
            lookahead_hours=LOOKAHEAD_HOURS,
        )
        for i in range(args.workers)
    ]
    for worker in workers:
        worker.start()

    shared = Shared()
    began = time.monotonic()
    until = began + args.seconds
    threads: list[threading.Thread] = []

    def spawn(name: str, target: Callable[[float], None], end: float) -> None:
        thread = threading.Thread(target=_guard(target, end, ledger), name=name, daemon=True)
        thread.start()
        threads.append(thread)

    for i in range(args.clients):
        spawn(f"client-{i}", Client(i, api, shared, channel_ids, stop).run, until)
    for i in range(args.ledger_workers):
        spawn(f"ledger-worker-{i}", LedgerWorker(i, api, stop).run, until)
    faults = Faults(replicas, workers, cluster, args.seconds, args.kill_every, stop)
    fault_thread = threading.Thread(target=faults.run, args=(began,), daemon=True)
    fault_thread.start()
    background.append(fault_thread)
    log(f"load: {args.clients} clients, {args.ledger_workers} ledger workers, "
        f"{args.workers} worker processes for {args.seconds:.0f}s")  # fmt: skip

    for _ in range(int(args.seconds) + 10):
        if time.monotonic() >= until:
            break
        time.sleep(min(1.0, max(0.0, until - time.monotonic())))
        if int(time.monotonic() - began) % 30 == 0:
            log(f"calls={ledger.calls} acks={ledger.acknowledged} codes={dict(ledger.codes)}")
    fault_thread.join(timeout=90)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    stuck = [t.name for t in threads if t.is_alive()]
    log(f"load over after {time.monotonic() - began:.0f}s; threads still running: {stuck or 0}")

    for replica in replicas:  # whatever the last fault left down comes back for the replays
        if not replica.alive():
            replica.start(timeout=60)
    replays = final_replays(api, ledger, limit=4000, seconds=90)
    log(f"final replays of acknowledged request_ids: {replays}")
    api.close()

    for worker in workers:
        worker.stop()
    for replica in replicas:
        replica.stop()
    log("workers and replicas stopped")

    violations, lost, facts = checks.run_checks(cluster.dsn, ledger, manifests)
    cluster.stop("fast")
    errors = server_errors([r.log_path for r in replicas])
    internal, unknown = ledger.codes["INTERNAL"], ledger.codes["UNKNOWN"]
    elapsed = time.monotonic() - started

    print(f"chaos: database: {facts}", flush=True)
    print(f"chaos: status codes: {dict(sorted(ledger.codes.items()))}", flush=True)
    print(
        f"chaos: replica starts {[r.starts for r in replicas]}, unclean stops "
        f"{[r.unclean_exits for r in replicas]}, worker starts {[w.starts for w in workers]}, "
        f"worker crashes {[w.crashes for w in workers]}, calls given up {ledger.given_up}, "
        f"succeeded after a retry {ledger.retried_ok}, PostgreSQL restarts took "
        f"{[round(s, 1) for s in faults.pg_restart_seconds]}s",
        flush=True,
    )
    _show("violation", violations)
    _show("lost write", lost)
    if ledger.bad_answers:
        _show("bad answer", {"INTERNAL/UNKNOWN": ledger.bad_answers})
    if errors:
        _show("server log", {"unexpected errors": errors})
    if ledger.unexpected:
        _show("unexpected answer", {"other": ledger.unexpected})
    if faults.errors:
        _show("fault injection", {"errors": faults.errors})
    n_violations = sum(len(v) for v in violations.values())
    n_lost = sum(len(v) for v in lost.values())
    print(
        f"chaos: {len(replicas)} replicas, {args.clients} clients, {args.seconds:.0f} s, "
        f"calls={ledger.calls}, acknowledged={ledger.acknowledged}, replays={ledger.replays}, "
        f"kills={faults.replica_kills} replicas + {faults.worker_kills} workers, "
        f"pg_restarts={cluster.restarts}, violations={n_violations}, lost_writes={n_lost}, "
        f"internal={internal}, unknown={unknown}, unexpected={len(ledger.unexpected)}, "
        f"fault_errors={len(faults.errors)}, wall={elapsed:.0f}s",
        flush=True,
    )
    # A fault that could not be injected or undone (a replica that did not come back) means
    # the run did not test what it says: that fails too.
    return 1 if n_violations or n_lost or internal or unknown or faults.errors else 0


def _guard(target: Callable[[float], None], end: float, ledger: Ledger) -> Callable[[], None]:
    """A thread body whose crash is reported as a problem instead of vanishing."""

    def body() -> None:
        try:
            target(end)
        except Exception as exc:
            name = threading.current_thread().name
            ledger.problem(f"{name} crashed: {type(exc).__name__}: {exc!r}")

    return body


if __name__ == "__main__":
    sys.exit(main())
