"""`make bench`: the allocator against its baselines on seeded instances.

    python -m bench.run [--only S,M,L,staggered] [--repeat 3] [--seed 0] [--json PATH]

For each instance, in fresh processes (so that each peak RSS is its own):
  allocator  the problem from allocator.planning.build_instance, as the server builds it
             (video table, candidates, free slots: one "instance" stage), then
             allocator.solve.solve (prune, flow, certificate, CP-SAT, slotting) and the
             independent checker; medians over --repeat runs for S and M.
  baselines  on the same instance: greedy, naive CP-SAT (one Boolean per eligible pair or
             entry, no pruning, no hint, default parameters, 2 workers, same time limit) and
             the bare min-cost flow on every candidate.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.generate import SPECS, Spec, build_problem, generate

NAIVE_LIMITS = {
    "L": "skipped: 10M Booleans do not fit the 4 GB budget (CP-SAT took 21.7 GB at 20k x 300 "
    "with 8 workers, DESIGN.md)",
    "staggered": "skipped: the slot-level model over every candidate is too big to build "
    "(already 717k columns and 40M nonzeros over the 11.7k pruned candidates)",
}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_solve(p: Any) -> tuple[Any, float, float]:
    """(plan, solve seconds, independent check seconds) of problem p."""
    from allocator.checker import check_plan
    from allocator.solve import solve

    t0 = time.perf_counter()
    plan = solve(p, check=False)
    solve_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    check_plan(p, plan)
    return plan, solve_s, time.perf_counter() - t0


def solve_and_check(spec: Spec, seed: int) -> dict[str, Any]:
    """Generates the instance, solves it and checks the plan: one row's figures."""
    built = build_problem(generate(spec, seed))
    p = built.problem
    plan, solve_s, check_s = timed_solve(p)
    st = plan.stats
    return {
        "videos": p.num_videos,
        "channels": p.num_channels,
        "slots": p.num_slots,
        "candidates": p.num_candidates,
        "kept": st.get("kept"),
        "rounds": st.get("rounds"),
        "instance_s": built.instance_seconds,
        "prune_s": st.get("prune_s"),
        "flow_s": st.get("flow_s"),
        "solve_s": solve_s,
        "check_s": check_s,
        "status": plan.status.value,
        "objective": plan.objective,
        "filled": plan.filled,
        "bound": plan.best_bound,
        "gap": plan.gap,
        "peak_rss_mb": _peak_rss_mb(),
        "stats": {k: v for k, v in st.items() if isinstance(v, int | float | str | bool)},
    }


def _run_allocator(name: str, seed: int) -> dict[str, Any]:
    return solve_and_check(SPECS[name], seed)


def run_baseline(name: str, seed: int, which: str) -> dict[str, Any]:
    from allocator.flow import solve_flow
    from allocator.greedy import greedy

    inst = generate(SPECS[name], seed)
    p = build_problem(inst).problem
    t0 = time.perf_counter()
    if which == "greedy":
        plan = greedy(p)
        return {"objective": plan.objective, "seconds": time.perf_counter() - t0}
    if which == "flow":
        # The bare flow: every candidate, no pruning, no duals; its solve time alone too.
        flow = solve_flow(p, with_duals=False)
        return {
            "objective": flow.objective,
            "seconds": time.perf_counter() - t0,
            "mcf_seconds": flow.mcf_seconds,
            "peak_rss_mb": _peak_rss_mb(),
        }
    return naive_cp(p, t0)


def naive_cp(p: Any, t0: float) -> dict[str, Any]:
    """Naive CP-SAT: one model over every candidate, no hint, default parameters, the
    problem's time limit counted from t0; its figures."""
    import numpy as np

    from allocator.cpsat import solve_cp
    from allocator.model_matrix import build_matrix

    matrix = build_matrix(p, np.arange(p.num_candidates))
    left = p.time_limit_seconds - (time.perf_counter() - t0)
    res = solve_cp(matrix, None, left, p.num_workers, variant="default")
    return {
        "objective": res.objective,
        "status": res.status,
        "seconds": time.perf_counter() - t0,
        "columns": matrix.num_columns,
        "peak_rss_mb": _peak_rss_mb(),
    }


def in_child(func: Any, *args: Any) -> Any:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(func, args)


def run_instance(name: str, seed: int, repeat: int, naive: bool) -> dict[str, Any]:
    """Allocator runs (median) and baselines for one instance."""
    runs = [in_child(_run_allocator, name, seed) for _ in range(repeat)]
    row: dict[str, Any] = dict(runs[0])
    for key in ("instance_s", "solve_s", "check_s", "peak_rss_mb"):
        row[key] = statistics.median(r[key] for r in runs)
    row["runs"] = repeat
    row["greedy"] = in_child(run_baseline, name, seed, "greedy")
    row["flow"] = in_child(run_baseline, name, seed, "flow")
    if naive and name not in NAIVE_LIMITS:
        row["naive"] = in_child(run_baseline, name, seed, "naive")
    else:
        row["naive"] = {"skipped": NAIVE_LIMITS.get(name, "skipped (--no-naive)")}
    return row


def _fmt_obj(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def table(rows: dict[str, dict[str, Any]]) -> str:
    """The markdown table printed by `make bench`."""
    head = (
        "| instance | candidates | instance build s | solve s | check s | status | objective | "
        "bound | gap | peak RSS MB | greedy obj (s) | naive CP-SAT obj (s) | "
        "bare flow s (+build) |\n"
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for name, r in rows.items():
        spec = SPECS[name]
        label = f"{name} {spec.videos // 1000}k x {spec.channels}"
        naive = r["naive"]
        if "skipped" in naive:
            naive_s = "skipped"
        else:
            naive_s = f"{_fmt_obj(naive['objective'])} ({naive['seconds']:.1f}, {naive['status']})"
        lines.append(
            f"| {label} | {r['candidates']:,} | {r['instance_s']:.2f} | {r['solve_s']:.2f} | "
            f"{r['check_s']:.2f} | {r['status']} | {r['objective']:,} | {r['bound']:,} | "
            f"{100 * r['gap']:.3f}% | {r['peak_rss_mb']:.0f} | "
            f"{r['greedy']['objective']:,} ({r['greedy']['seconds']:.2f}) | {naive_s} | "
            f"{r['flow']['mcf_seconds']:.2f} ({r['flow']['seconds']:.2f}) |"
        )
    return head + "\n".join(lines)


def machine() -> str:
    """One line about where this ran."""
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def publish(text: str, rows: Any, path: str) -> None:
    """Prints the machine line and the table `text`; writes the machine and `rows` as JSON."""
    print(machine())
    print(text)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as fh:
        json.dump({"machine": machine(), "rows": rows}, fh, indent=1, default=str)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="S,M,L,staggered")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--json", default="bench/results/latest.json")
    args = parser.parse_args(argv)
    rows = {}
    for name in args.only.split(","):
        repeat = args.repeat if name in ("S", "M") else 1
        rows[name] = run_instance(name, args.seed, repeat, not args.no_naive)
        print(f"{name}: done", flush=True)
    publish(table(rows), rows, args.json)


if __name__ == "__main__":
    main()
