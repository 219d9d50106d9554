"""How the allocator grows with candidates: 5k to 100k videos at 1,500 channels.

    python -m bench.growth [--videos 5000,10000,20000,50000,100000] [--channels 1500]
                           [--seed 0] [--repeat 1] [--json PATH]

Each size is generated with the same seeded generator as `bench.run` (`bench.generate`), built
through `allocator.planning.build_instance`, solved by `allocator.solve.solve` without its
checker, then checked by `allocator.checker.check_plan` (the certificate over every
candidate), each run in a fresh process so that every peak RSS is its own. With --repeat > 1
the times and peak RSS are medians.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from bench.generate import Spec
from bench.run import in_child, publish, solve_and_check

SIZES = (5_000, 10_000, 20_000, 50_000, 100_000)
CHANNELS = 1_500
TIME_LIMIT = 120.0
_MEDIANS = ("instance_s", "prune_s", "flow_s", "solve_s", "check_s", "peak_rss_mb")


def growth_spec(videos: int, channels: int = CHANNELS) -> Spec:
    """The instance of one row: L's rules (3 channels per video, 10% windows) at this size."""
    return Spec(f"{videos // 1000}k x {channels}", videos, channels, time_limit=TIME_LIMIT)


def _run(videos: int, channels: int, seed: int) -> dict[str, Any]:
    return solve_and_check(growth_spec(videos, channels), seed)


def run_size(videos: int, channels: int, seed: int, repeat: int) -> dict[str, Any]:
    """One row: `repeat` fresh-process runs, times and peak RSS as medians."""
    runs = [in_child(_run, videos, channels, seed) for _ in range(repeat)]
    row: dict[str, Any] = dict(runs[0])
    for key in _MEDIANS:
        row[key] = statistics.median(r[key] for r in runs)
    row["runs"] = repeat
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table."""
    head = (
        "| videos x channels | candidates | kept | pruning rounds | pruning s | of which flow s "
        "| solve s | check s | peak RSS MB | status | gap |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n"
    )
    lines = [
        f"| {r['videos']:,} x {r['channels']:,} | {r['candidates']:,} | {r['kept']:,} | "
        f"{r['rounds']} | {r['prune_s']:.2f} | {r['flow_s']:.2f} | {r['solve_s']:.2f} | "
        f"{r['check_s']:.2f} | {r['peak_rss_mb']:.0f} | {r['status']} | {100 * r['gap']:.3f}% |"
        for r in rows
    ]
    return head + "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--channels", type=int, default=CHANNELS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", default="bench/results/growth.json")
    args = parser.parse_args(argv)
    rows = []
    for n in (int(x) for x in args.videos.split(",")):
        rows.append(run_size(n, args.channels, args.seed, args.repeat))
        r = rows[-1]
        print(f"{n} videos: {r['solve_s']:.2f} s, {r['rounds']} rounds, {r['status']}", flush=True)
    publish(table(rows), rows, args.json)


if __name__ == "__main__":
    main()
