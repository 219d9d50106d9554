"""Re-planning at scale over gRPC: a written plan re-planned changes nothing; one new video
changes only what it pays for.

On a fresh database per backend, the seeded instance (bench.generate, M by default) is loaded
through the API and planned for real (the baseline: a first run). Then, on the same state:

1. a re-planning run (`replan`, `freeze_until` = the horizon's start, `change_penalty`) of
   the same inputs: every automatic distribution is released, and the plan must come back
   unchanged (0 changes, the same objective, OPTIMAL);
2. one new video, the best match of the busiest channel (every tag that channel weighs),
   then a re-planning run: it must add that video and drop or move only what it pays for.

The table gives each call's seconds, its ratio to the first run, the changes and the solver
status and gap. Medians over `--repeat` fresh databases.

    python -m bench.replan --size M --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import Counter
from typing import Any

from bench.databases import database, quiet_server
from bench.generate import SPECS, Instance, generate
from bench.grpc_autodistribute import (
    call_autodistribute,
    load_instance,
    plan_stub,
    shift_of,
    video_message,
)
from distribution.v1 import distribution_service_pb2 as svc
from server.api.converters import dt_to_ts

PENALTY = 1_000


def one_run(instance: Instance, url: str, time_limit: float) -> dict[str, Any]:
    """The three calls on one fresh database; their seconds, changes and statuses."""
    running = quiet_server(url)
    try:
        with plan_stub(running.port) as stub:
            load_instance(stub, instance)
            freeze = dt_to_ts(instance.start + shift_of(instance))
            replan = {"replan": True, "freeze_until": freeze, "change_penalty": PENALTY}
            first, first_s = call_autodistribute(stub, instance, time_limit)
            same, same_s = call_autodistribute(stub, instance, time_limit, **replan)
            stub.UpsertVideos(svc.UpsertVideosRequest(videos=[_star(instance)]))
            grown, grown_s = call_autodistribute(stub, instance, time_limit, **replan)
    finally:
        running.stop(grace=1)
    kinds = Counter(svc.PlanChangeKind.Name(c.kind)[17:] for c in grown.changes)
    return {
        "first_s": first_s,
        "assigned": first.assignment_count,
        "same_s": same_s,
        "same_changes": same.change_count,
        "same_objective_equal": same.objective == first.objective,
        "same_status": _status(same),
        "grown_s": grown_s,
        "grown_changes": dict(kinds),
        "grown_status": _status(grown),
        "grown_gain": grown.objective - first.objective,
    }


def _status(response: svc.AutoDistributeResponse) -> str:
    name = svc.SolverStatus.Name(response.solver_status).removeprefix("SOLVER_STATUS_")
    return f"{name} gap {response.gap:.2%}"


def _star(instance: Instance) -> Any:
    """A new video that the most demanding channel wants most: every tag it weighs."""
    channel = max(instance.channels, key=lambda c: len(c.preferences.tag_weights))
    model = instance.videos[0]
    message = video_message(model, shift_of(instance))
    message.id = "bench-replan-star"
    message.source_url = "https://cdn.example.com/bench-replan-star.mp4"
    del message.tags[:]
    message.tags.extend(tag for tag, weight in channel.preferences.tag_weights if weight > 0)
    return message


def table(size: str, rows: dict[str, list[dict[str, Any]]]) -> str:
    """Medians per backend; the changes of the last repetition."""
    repeats = len(next(iter(rows.values())))
    lines = [
        f"re-planning {size}, change_penalty {PENALTY}, medians of {repeats}",
        f"{'backend':<11} {'first s':>8} {'assigned':>8} {'replan s':>8} {'x first':>7} "
        f"{'changes':>7} {'same obj':>8} {'+1 video s':>10} {'x first':>7}  changes, gain, status",
    ]
    for backend, runs in rows.items():
        first = statistics.median(r["first_s"] for r in runs)
        same = statistics.median(r["same_s"] for r in runs)
        grown = statistics.median(r["grown_s"] for r in runs)
        last = runs[-1]
        lines.append(
            f"{backend:<11} {first:>8.2f} {last['assigned']:>8} {same:>8.2f} "
            f"{statistics.median(r['same_s'] / r['first_s'] for r in runs):>7.2f} "
            f"{max(r['same_changes'] for r in runs):>7} "
            f"{all(r['same_objective_equal'] for r in runs)!s:>8} {grown:>10.2f} "
            f"{statistics.median(r['grown_s'] / r['first_s'] for r in runs):>7.2f}  "
            f"{last['grown_changes']}, +{last['grown_gain']}, {last['grown_status']}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=sorted(SPECS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgresql"], dest="backends"
    )
    args = parser.parse_args()
    instance = generate(SPECS[args.size], args.seed)
    rows: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends or ["sqlite", "postgresql"]:
            for _ in range(args.repeat):
                with database(backend, tmp, "replan") as url:
                    run = one_run(instance, url, instance.spec.time_limit)
                rows.setdefault(backend, []).append(run)
                print(backend, run, flush=True)
    print(table(args.size, rows))


if __name__ == "__main__":
    main()
