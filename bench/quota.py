"""Platform limits (issue #12 item 7): the M-Q and L-Q instances against their baselines.

    python -m bench.quota [--only M-Q,L-Q] [--repeat 3] [--seed 0] [--json PATH]

The instances are bench.generate's M and L (same seed, same videos and channels) with the
quota pools of a real company laid over them, drawn from a second seeded stream
(`numpy.random.default_rng([seed, 12])`, so the base instance is unchanged):

* YouTube: 30 channels (a random choice) in 3 Google Cloud projects of 10; each project is a
  CALENDAR_DAY pool of 100 uploads a day, days from midnight America/Los_Angeles. They post
  12-20 times a day (a project has ~160 slots a day for its 100).
* TikTok: 20% of the other channels, each its own CALENDAR_DAY pool of 15 a day in the
  channel's own timezone, posting 16-24 times a day.
* Instagram: another 20%, each its own ROLLING_24H pool of 50, posting 16-24 times a day.
  Each account also posts outside vdist (by hand, other tools) at a steady 30-45 a day
  (evenly spaced, jittered by up to a quarter of the spacing, from a day before the horizon
  to its end): those instants are the pool's `used`, so any 24 hours leave it 5-20 places.
* The rest: no pool, bench.generate's 1-10 posting times a day.

Posting times are whole quarter hours, every day; only the schedules of pooled channels are
redrawn. Every channel's weekly slots are weighed by their local hour (HOUR_WEIGHTS: 0.5 at
night up to 3 in the evening prime time, the issue's 0.5 to 3 by hour); M-Q-flat and L-Q-flat
are the same instances without weights. `channel_platform` is set (0 YouTube, 1 TikTok, 2
Instagram, -1 none), but no (video, platform) cap rows: the issue asks for none.

Rows, each run in a fresh process (bench.run.in_child): the allocator (`allocator.solve.solve`
with the instance's time limit set to its target, then `allocator.checker.check_plan`; for
M-Q medians of --repeat runs), the greedy baseline (`allocator.greedy.greedy`) and naive
CP-SAT (bench.run's: one model over every candidate, no hint, default parameters, same time
limit; skipped at L-Q, as bench.run skips it at L).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from dataclasses import dataclass
from datetime import time as dtime
from typing import Any

import numpy as np

from allocator.domain import Channel, WeeklySlot
from allocator.problem import AllocationProblem
from allocator.quota_model import PoolSpec, quota_windows
from allocator.quota_windows import CALENDAR_DAY, ROLLING_24H
from bench.generate import SPECS, Instance, Spec, build_problem, generate
from bench.quota_report import table, verdicts
from bench.run import NAIVE_LIMITS, in_child, naive_cp, publish, timed_solve

YOUTUBE, TIKTOK, INSTAGRAM, NO_PLATFORM = 0, 1, 2, -1
PLATFORM_NAMES = {YOUTUBE: "youtube", TIKTOK: "tiktok", INSTAGRAM: "instagram"}
_DAY_S = 86_400


@dataclass(frozen=True)
class QuotaSpec:
    """A base instance and the pools laid over it (see the module docstring)."""

    name: str
    base: Spec
    time_limit: float  # the allocator's (and naive CP-SAT's) limit: the target's seconds
    projects: int = 3
    per_project: int = 10
    project_limit: int = 100
    project_timezone: str = "America/Los_Angeles"
    tiktok_share: float = 0.2
    tiktok_limit: int = 15
    instagram_share: float = 0.2
    instagram_limit: int = 50
    youtube_per_day: tuple[int, int] = (12, 20)  # inclusive ranges
    tiktok_per_day: tuple[int, int] = (16, 24)
    instagram_per_day: tuple[int, int] = (16, 24)
    instagram_outside: tuple[int, int] = (30, 45)  # posts a day made outside vdist
    weights: bool = True  # slot weights by local hour (HOUR_WEIGHTS) on every channel


QUOTA_SPECS = {
    # A smoke-test size (tests/unit/test_bench_quota.py): S has 20 channels, so one project of
    # 5 YouTube channels (~80 slots a day for its 30), then 3 TikTok and 3 Instagram accounts.
    "S-Q": QuotaSpec(
        "S-Q", SPECS["S"], time_limit=1.0, projects=1, per_project=5, project_limit=30
    ),
    "M-Q": QuotaSpec("M-Q", SPECS["M"], time_limit=10.0),
    "L-Q": QuotaSpec("L-Q", SPECS["L"], time_limit=60.0),
    # The same without slot weights: what the pools alone cost.
    "M-Q-flat": QuotaSpec("M-Q-flat", SPECS["M"], time_limit=10.0, weights=False),
    "L-Q-flat": QuotaSpec("L-Q-flat", SPECS["L"], time_limit=60.0, weights=False),
}
#: Slot weight by local hour (0-23): nights 0.5, the lunch hour and the evening prime time
#: up to 3 (the issue's 0.5 to 3 by hour).
HOUR_WEIGHTS = (
    (0.5,) * 6 + (1.0,) * 3 + (1.5,) * 3 + (2.0,) * 2 + (1.0,) * 3 + (2.5,) * 2 + (3.0,) * 2
    + (1.5,) * 2 + (0.5,)
)  # fmt: skip


@dataclass(frozen=True)
class QuotaInstance:
    """The problem with its windows, the pools and each channel's platform."""

    problem: AllocationProblem
    pools: tuple[PoolSpec, ...]
    platform: tuple[int, ...]
    instance_seconds: float  # build_instance
    windows_seconds: float  # quota_windows and the problem with them


def _schedule(rng: np.random.Generator, per_day: tuple[int, int]) -> tuple[WeeklySlot, ...]:
    n = int(rng.integers(per_day[0], per_day[1] + 1))
    minutes = np.sort(rng.choice(24 * 4, size=n, replace=False)) * 15
    every_day = (1, 2, 3, 4, 5, 6, 7)
    return tuple(WeeklySlot(days=every_day, local_time=dtime(m // 60, m % 60)) for m in minutes)


def _weighted(channel: Channel) -> Channel:
    """The channel with each weekly slot weighed by its local hour (HOUR_WEIGHTS)."""
    slots = tuple(
        dataclasses.replace(s, weight=HOUR_WEIGHTS[s.local_time.hour])
        for s in channel.schedule.slots
    )
    return dataclasses.replace(channel, schedule=dataclasses.replace(channel.schedule, slots=slots))


def _outside_posts(
    rng: np.random.Generator, qs: QuotaSpec, start: int, end: int
) -> tuple[int, ...]:
    """A steady stream, so that every 24 hours hold about the same count."""
    rate = int(rng.integers(qs.instagram_outside[0], qs.instagram_outside[1] + 1))
    step = _DAY_S / rate
    base = np.arange(start - _DAY_S, end, step)
    jitter = rng.uniform(-step / 4, step / 4, len(base))
    return tuple(np.round(base + jitter).astype(np.int64).tolist())


def assign_pools(
    qs: QuotaSpec, inst: Instance, seed: int
) -> tuple[list[Channel], list[PoolSpec], list[int]]:
    """Channels with their redrawn schedules, the pools and each channel's platform."""
    rng = np.random.default_rng([seed, 12])
    n = len(inst.channels)
    order = rng.permutation(n).tolist()
    n_yt = qs.projects * qs.per_project
    rest = order[n_yt:]
    n_tt = round(qs.tiktok_share * len(rest))
    n_ig = round(qs.instagram_share * len(rest))
    platform = [NO_PLATFORM] * n
    channels = list(inst.channels)
    pools: list[PoolSpec] = []
    per_day = {YOUTUBE: qs.youtube_per_day, TIKTOK: qs.tiktok_per_day}
    per_day[INSTAGRAM] = qs.instagram_per_day
    for kind, members in (
        (YOUTUBE, order[:n_yt]),
        (TIKTOK, rest[:n_tt]),
        (INSTAGRAM, rest[n_tt : n_tt + n_ig]),
    ):
        for c in sorted(members):
            platform[c] = kind
            sched = dataclasses.replace(channels[c].schedule, slots=_schedule(rng, per_day[kind]))
            channels[c] = dataclasses.replace(channels[c], schedule=sched)
    if qs.weights:
        channels = [_weighted(c) for c in channels]
    yt = order[:n_yt]
    for j in range(qs.projects):
        members = tuple(sorted(yt[j * qs.per_project : (j + 1) * qs.per_project]))
        pools.append(
            PoolSpec(f"gcp-{j}", CALENDAR_DAY, qs.project_limit, qs.project_timezone, members)
        )
    for c in sorted(rest[:n_tt]):
        tz = channels[c].timezone
        pools.append(PoolSpec(f"tiktok-{c}", CALENDAR_DAY, qs.tiktok_limit, tz, (c,)))
    start, end = int(inst.start.timestamp()), int(inst.end.timestamp())
    for c in sorted(rest[n_tt : n_tt + n_ig]):
        used = _outside_posts(rng, qs, start, end)
        tz = channels[c].timezone
        pools.append(PoolSpec(f"ig-{c}", ROLLING_24H, qs.instagram_limit, tz, (c,), used))
    return channels, pools, platform


def build_quota(qs: QuotaSpec, seed: int = 0) -> QuotaInstance:
    """The seeded instance of `qs`: bench.generate's, pooled channels redrawn, windows added."""
    inst = generate(qs.base, seed)
    channels, pools, platform = assign_pools(qs, inst, seed)
    built = build_problem(dataclasses.replace(inst, channels=channels), qs.time_limit)
    p = built.problem
    t0 = time.perf_counter()
    qw = quota_windows(pools, p.slot_channel.astype(np.int64), p.slot_time)
    problem = dataclasses.replace(
        p,
        window_capacity=qw.capacity,
        window_slot_ptr=qw.slot_ptr,
        window_slots=qw.slots,
        channel_platform=np.asarray(platform, np.int32),
    )
    return QuotaInstance(
        problem=problem,
        pools=tuple(pools),
        platform=tuple(platform),
        instance_seconds=built.instance_seconds,
        windows_seconds=time.perf_counter() - t0,
    )


def window_figures(p: AllocationProblem, slot: Any) -> dict[str, int]:
    """How many windows there are, could overfill (bind), and are full in the plan."""
    from allocator.limits import binding_windows, window_use

    binding = binding_windows(p)
    full = window_use(p, np.asarray(slot, np.int64)) >= p.window_capacity
    return {
        "windows": len(p.window_capacity),
        "windows_binding": int(binding.sum()),
        "windows_full": int((full & binding).sum()),
    }


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_allocator(name: str, seed: int) -> dict[str, Any]:
    """Builds the instance, solves it and checks the plan: one allocator run's figures."""
    qi = build_quota(QUOTA_SPECS[name], seed)
    p = qi.problem
    plan, solve_s, check_s = timed_solve(p)
    st = plan.stats
    return {
        "videos": p.num_videos,
        "channels": p.num_channels,
        "slots": p.num_slots,
        "candidates": p.num_candidates,
        "pools": len(qi.pools),
        **window_figures(p, plan.slot),
        "instance_s": qi.instance_seconds,
        "windows_s": qi.windows_seconds,
        "solve_s": solve_s,
        "check_s": check_s,
        "status": plan.status.value,
        "objective": plan.objective,
        "filled": plan.filled,
        "bound": plan.best_bound,
        "gap": plan.gap,
        "flow_exact": st.get("flow_exact"),
        "peak_rss_mb": _peak_rss_mb(),
        "stats": {k: v for k, v in st.items() if isinstance(v, int | float | str | bool)},
    }


def run_baseline(name: str, seed: int, which: str) -> dict[str, Any]:
    """The greedy plan, or naive CP-SAT over every candidate (bench.run's), on the instance."""
    from allocator.greedy import greedy

    p = build_quota(QUOTA_SPECS[name], seed).problem
    t0 = time.perf_counter()
    if which == "greedy":
        plan = greedy(p)
        return {"objective": plan.objective, "seconds": time.perf_counter() - t0}
    # Weighted channels give each free candidate one column per part (window x weight) of its
    # channel: past a memory budget the naive model is not built (24 GB ran out at M-Q).
    parts_of = np.bincount(p.part_channel, minlength=p.num_channels)
    columns = int(np.maximum(parts_of[p.cand_channel], 1).sum())
    if columns > NAIVE_MAX_COLUMNS:
        return {"skipped": f"{columns:,} columns (over {NAIVE_MAX_COLUMNS:,}) do not fit in memory"}
    return naive_cp(p, t0)


def _traced(dump_after: float, func: Any, *args: Any) -> Any:
    import faulthandler

    # A run about to be killed leaves its stack on stderr: where the time went.
    faulthandler.dump_traceback_later(dump_after)
    return func(*args)


def in_child_limited(timeout: float | None, func: Any, *args: Any) -> Any:
    """bench.run.in_child, or {"timeout": s} when the run takes longer (the child is killed)."""
    if timeout is None:
        return in_child(func, *args)
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        try:
            return pool.apply_async(_traced, (max(1.0, timeout - 5), func, *args)).get(timeout)
        except multiprocessing.TimeoutError:
            return {"timeout": timeout}


NAIVE_SKIP = {"L-Q": NAIVE_LIMITS["L"], "L-Q-flat": NAIVE_LIMITS["L"]}
NAIVE_MAX_COLUMNS = 15_000_000  # M-Q-flat's naive model: 6.5M columns, 5.8 GB


def run_instance(
    name: str, seed: int, repeat: int, naive: bool, timeout: float | None
) -> dict[str, Any]:
    """Allocator runs (medians) and the baselines for one instance."""
    runs = [in_child_limited(timeout, run_allocator, name, seed) for _ in range(repeat)]
    done = [r for r in runs if "timeout" not in r]
    row: dict[str, Any] = dict(done[0]) if done else {"timeout": timeout}
    for key in ("instance_s", "windows_s", "solve_s", "check_s", "peak_rss_mb"):
        if done:
            row[key] = statistics.median(r[key] for r in done)
    row["runs"] = len(done)
    row["timed_out"] = len(runs) - len(done)
    row["greedy"] = in_child_limited(timeout, run_baseline, name, seed, "greedy")
    if naive and name not in NAIVE_SKIP:
        row["naive"] = in_child_limited(timeout, run_baseline, name, seed, "naive")
    else:
        row["naive"] = {"skipped": NAIVE_SKIP.get(name, "skipped (--no-naive)")}
    row["targets"] = verdicts(name, row)
    return row


def main(argv: list[str] | None = None) -> None:
    """Run the instances and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="M-Q,L-Q,M-Q-flat,L-Q-flat")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per child run")
    parser.add_argument("--json", default="bench/results/quota.json")
    args = parser.parse_args(argv)
    rows = {}
    for name in args.only.split(","):
        repeat = args.repeat if name.startswith("M-Q") else 1
        rows[name] = run_instance(name, args.seed, repeat, not args.no_naive, args.timeout)
        print(f"{name}: done", flush=True)
    publish(table(rows), rows, args.json)


if __name__ == "__main__":
    main()
