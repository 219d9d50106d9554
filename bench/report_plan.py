"""`vdist report` of a bench plan, rendered by Chromium: every channel's week, and a proposal.

Loads the seeded instance (M by default) into a fresh database through the API, plans it for
real, takes a few channels down for two days and asks for a re-planning dry run (a proposal
that moves or drops what the outage hits), then writes `vdist report --run PROPOSAL` for the
horizon's first week and has Debian's chromium (headless) render it: the summary line its
inline script writes is read back from the DOM and compared with what the server holds.

    python -m bench.report_plan --size M
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench.databases import database, quiet_server
from bench.generate import SPECS, generate
from bench.grpc_autodistribute import call_autodistribute, load_instance, plan_stub, shift_of
from distribution.v1 import distribution_service_pb2 as svc
from server.api.converters import dt_to_ts
from server.cli import main as vdist

DOWN = 3  # channels taken down for two days
DAYS = 7
PENALTY = 1_000  # as bench.replan: a change must gain this much score
_SUMMARY = re.compile(r'<p id="summary"[^>]*>([^<]*)</p>')


def _screenshot(page: Path, tmp: str, png: str) -> None:
    subprocess.run(
        [shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", f"--user-data-dir={tmp}/profile", f"--screenshot={png}",
         "--window-size=1400,1500", page.as_uri()],
        capture_output=True, timeout=600, check=True,
    )  # fmt: skip


def _render(page: Path, tmp: str) -> tuple[str, float]:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is missing: apt-get install -y chromium")
    started = time.perf_counter()
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp}/profile", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    found = _SUMMARY.search(done.stdout)
    return (found.group(1) if found else "(no summary)"), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=sorted(SPECS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--screenshot", metavar="PNG", help="also save a screenshot of the page")
    parser.add_argument("--channels", type=int, default=0, help="report only the first N")
    args = parser.parse_args()
    instance = generate(SPECS[args.size], args.seed)
    start = instance.start + shift_of(instance)
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, tmp, "report") as url:
        running = quiet_server(url)
        try:
            with plan_stub(running.port) as stub:
                load_instance(stub, instance)
                plan, _ = call_autodistribute(stub, instance, instance.spec.time_limit)
                for c in instance.channels[:DOWN]:
                    stub.SetChannelAvailability(
                        svc.SetChannelAvailabilityRequest(
                            channel_id=c.id,
                            available=False,
                            until=dt_to_ts(start + timedelta(days=2)),
                            reason="bench outage",
                        )
                    )
                proposal, _ = call_autodistribute(
                    stub,
                    instance,
                    instance.spec.time_limit,
                    replan=True,
                    freeze_until=dt_to_ts(start),
                    change_penalty=PENALTY,
                    dry_run=True,
                )
            down = {c.id for c in instance.channels[:DOWN]}
            on_down = sum(c.channel_id in down for c in proposal.changes)
            page = Path(tmp) / "report.html"
            argv = ["report", "--target", f"127.0.0.1:{running.port}", "--output", str(page)]
            argv += ["--start", start.date().isoformat(), "--days", str(DAYS)]
            for c in instance.channels[: args.channels]:
                argv += ["--channel", c.id]
            started = time.perf_counter()
            assert vdist([*argv, "--run", proposal.run_id]) == 0
            written = time.perf_counter() - started
            summary, shown = _render(page, tmp)
            if args.screenshot:
                _screenshot(page, tmp, args.screenshot)
            size_mb = page.stat().st_size / 1e6
        finally:
            running.stop(grace=1)
    print(f"report {args.size} ({args.backend}): {len(instance.channels)} channels, {DAYS} days")
    print(f"plan: {plan.assignment_count} distributions, {_status(plan)}")
    print(
        f"proposal after {DOWN} channels down 2 days (change_penalty {PENALTY}): "
        f"{proposal.change_count} changes over the horizon "
        f"({dict(Counter(svc.PlanChangeKind.Name(c.kind)[17:] for c in proposal.changes))}), "
        f"{_status(proposal)}; on the channels taken down: {on_down}"
    )
    print(
        f"page {size_mb:.1f} MB written in {written:.1f} s; chromium rendered it in {shown:.1f} s"
    )
    print(f"DOM summary (the {DAYS} days shown): {summary}")


def _status(response: svc.AutoDistributeResponse) -> str:
    name = svc.SolverStatus.Name(response.solver_status).removeprefix("SOLVER_STATUS_")
    return f"{name} gap {response.gap:.2%}"


if __name__ == "__main__":
    main()
