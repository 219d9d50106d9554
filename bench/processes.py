"""More than one core: Assign's rate with `vdist serve --processes 2` against one process.

For each repetition and each process count (1, then 2) a fresh database, a real `vdist serve
--processes P` process tree on a free port (access log off), seeded as bench/load.py seeds it,
then the no-op health Check and Assign (a fresh video to a channel's next free slot) called
back to back by `--threads` client threads in a separate spawned process, `--seconds` each.

    python -m bench.processes [--backend postgresql|sqlite|both] [--repeat 3] [--seconds 5]

"x 1 process" is a repetition's Assign rate over the one-process rate of the same repetition;
the table shows medians over the repetitions. Target (issue #11): 2 processes >= 1.5x.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.databases import database
from bench.load import client_init, client_measure, percentile, seed_load
from persistence.database import Database

ROOT = Path(__file__).resolve().parents[1]
PROCESS_COUNTS = (1, 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, processes: int, threads: int) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **os.environ,
        "VDIST_ADDRESS": f"127.0.0.1:{port}",
        "VDIST_ACCESS_LOG": "false",
        "VDIST_LOG_LEVEL": "WARNING",
        "VDIST_MAX_WORKERS": str(max(16, 2 * threads)),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--processes", str(processes)],
        cwd=ROOT,
        env={**env, "VDIST_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    # Ready when every process answers: new connections land on any of them.
    answered = 0
    while answered < 8 * processes:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"vdist serve --processes {processes} did not start")
        try:
            with grpc.insecure_channel(
                f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
            ) as channel:
                health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1
                )
            answered += 1
        except grpc.RpcError:
            answered = 0
            time.sleep(0.5)
    return proc, port


def _one(backend: str, processes: int, args: argparse.Namespace) -> dict[str, Any]:
    """Seeds a fresh database, serves it with `processes`, measures no-op and Assign."""
    with database(backend, args.tmp, "bench-procs") as url:
        proc, port = _start(url, processes, args.threads)
        db = Database(url)
        try:
            seed_args = SimpleNamespace(
                channels=args.channels, videos=args.videos, existing=0, pool=0, assign_depth=0
            )
            channel_ids, fresh, _ = seed_load(SimpleNamespace(port=port, db=db), seed_args)
            with ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=client_init,
                initargs=(f"127.0.0.1:{port}", channel_ids, fresh),
            ) as clients:
                clients.submit(client_measure, "HealthCheck", 1, 0.2).result()  # warm up
                noop = clients.submit(client_measure, "HealthCheck", args.threads, args.seconds)
                noop_result = noop.result()
                assign = clients.submit(client_measure, "Assign", args.threads, args.seconds)
                assign_result = assign.result()
        finally:
            db.dispose()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    return {
        "noop": noop_result["calls"] / noop_result["elapsed"],
        "assign": assign_result["calls"] / assign_result["elapsed"],
        "latencies": assign_result["latencies"],
        "errors": assign_result["errors"] + noop_result["errors"],
    }


def main() -> None:
    """Prints one row per (backend, process count)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--videos", type=int, default=3000, help="fresh videos for Assign")
    parser.add_argument("--tmp", default="/tmp")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        "| backend | processes | no-op calls/s | Assign calls/s | x 1 process | "
        "Assign p50 ms | p99 ms | runs (Assign calls/s) | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for backend in backends:
        runs: dict[int, list[dict[str, Any]]] = {p: [] for p in PROCESS_COUNTS}
        for _ in range(args.repeat):
            for processes in PROCESS_COUNTS:
                runs[processes].append(_one(backend, processes, args))
        for processes in PROCESS_COUNTS:
            mine = runs[processes]
            ratios = [r["assign"] / one["assign"] for r, one in zip(mine, runs[1], strict=True)]
            lat = sorted(x for r in mine for x in r["latencies"])
            rates = ", ".join(f"{r['assign']:.1f}" for r in mine)
            print(
                f"| {backend} | {processes} | {statistics.median(r['noop'] for r in mine):.0f} | "
                f"{statistics.median(r['assign'] for r in mine):.1f} | "
                f"{statistics.median(ratios):.2f} | {percentile(lat, 0.5) * 1000:.1f} | "
                f"{percentile(lat, 0.99) * 1000:.1f} | "
                f"{rates} | "
                f"{sum(r['errors'] for r in mine)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
