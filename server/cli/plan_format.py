"""How `vdist plan` prints a plan: the summary and per-channel table, the changes, the
assignments and the videos left out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from google.protobuf.timestamp_pb2 import Timestamp

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb


def format_plan(response: svc.AutoDistributeResponse) -> str:
    """The run's summary line, a per-channel table and the totals."""
    status = svc.SolverStatus.Name(response.solver_status).removeprefix("SOLVER_STATUS_")
    written = (
        "dry run: kept as a proposal; --apply RUN writes it" if response.dry_run else "written"
    )
    width = max([len("channel"), *(len(c.channel_id) for c in response.channels)])
    lines = [
        f"run {response.run_id}  {status}  objective {response.objective}  "
        f"bound {response.best_bound}  gap {response.gap:.4%}  ({written})",
        f"{'channel':<{width}}  {'free':>6}  {'filled':>6}  {'score':>12}",
    ]
    for c in response.channels:
        lines.append(
            f"{c.channel_id:<{width}}  {c.free_slots:>6}  {c.filled:>6}  {c.total_score:>12}"
        )
    lines.append(
        f"{'total':<{width}}  {response.slot_count:>6}  {response.assignment_count:>6}  "
        f"{response.objective:>12}"
    )
    lines.append(
        f"candidates {response.candidate_count}, skipped videos {response.skipped_count}, "
        f"{response.wall_seconds:.2f} s"
    )
    if response.dry_run:
        lines.append(
            f"proposal {response.run_id}: --apply {response.run_id} writes exactly this plan "
            "(refused, naming what changed, if a slot, video or channel it relies on changes)"
        )
        token = f"{response.input_digest}:{response.plan_digest}"
        lines.append(
            f"input digest {token}: add --apply --expect-digest {token} to plan again and write "
            "only this plan (refused if the inputs or the plan they give change)"
        )
    return "\n".join(lines)


_KINDS = {
    svc.PLAN_CHANGE_KIND_ADDED: "added",
    svc.PLAN_CHANGE_KIND_MOVED: "moved",
    svc.PLAN_CHANGE_KIND_DROPPED: "dropped",
}


def format_changes(changes: Sequence[svc.PlanChange], total: int) -> list[str]:
    """The plan's difference from the current one: moved and dropped first, then added."""
    if not total:
        return ["changes: none"]
    lines = [f"changes ({total}):"]
    lines += table(
        ("change", "channel", "from (UTC)", "to (UTC)", "video", "reason"),
        [
            (
                _KINDS.get(c.kind, "?"),
                c.channel_id,
                utc(c.from_time) if c.HasField("from_time") else "-",
                utc(c.to_time) if c.HasField("to_time") else "-",
                c.video_id,
                c.reason,
            )
            for c in changes
        ],
        right=set(),
    )
    if len(changes) < total:
        lines.append(f"first {len(changes)} of {total} shown (ListRunChanges pages them all)")
    return lines


def utc(ts: Timestamp) -> str:
    """A timestamp as 2030-01-01T09:00:00Z."""
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(header: Sequence[str], rows: Sequence[Sequence[object]], right: set[int]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart; `right` columns right-aligned."""
    cells = [list(header), *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in cells
    ]


def format_assignments(distributions: Sequence[pb.Distribution], total: int) -> list[str]:
    """Which video goes to which channel and when, by channel and slot."""
    if not total:
        return ["assignments: none"]
    ordered = sorted(distributions, key=lambda d: (d.channel_id, utc(d.scheduled_at), d.video_id))
    lines = [f"assignments ({total}):"]
    lines += table(
        ("channel", "slot (UTC)", "video", "score"),
        [(d.channel_id, utc(d.scheduled_at), d.video_id, d.score) for d in ordered],
        right={3},
    )
    if len(distributions) < total:
        lines.append(
            f"first {len(distributions)} of {total} shown (a proposal's are paged with "
            "ListRunChanges; --apply RUN lists every one)"
        )
    return lines


def format_skipped(skipped: Sequence[tuple[str, str, str]], total: int) -> list[str]:
    """Why videos were left out: (video, code, reason) rows."""
    if not total:
        return ["skipped: none"]
    lines = [f"skipped ({total}):"]
    lines += table(("video", "code", "reason"), sorted(skipped), right=set())
    if len(skipped) < total:
        lines.append(f"first {len(skipped)} of {total} shown")
    return lines
