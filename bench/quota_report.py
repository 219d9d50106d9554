"""bench.quota's targets, verdicts and tables (the issue's figures: see bench/quota.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One instance's targets."""

    gap: float
    seconds: float
    rss_mb: float | None
    over_greedy: float = 0.08


TARGETS = {
    "M-Q": Target(gap=0.001, seconds=10.0, rss_mb=None),
    "L-Q": Target(gap=0.005, seconds=60.0, rss_mb=4096.0),
    "M-Q-flat": Target(gap=0.001, seconds=10.0, rss_mb=None),
    "L-Q-flat": Target(gap=0.005, seconds=60.0, rss_mb=4096.0),
}


def allocator_seconds(row: dict[str, Any]) -> float:
    """What the time target counts: problem and windows built, solved, plan checked."""
    return float(row["instance_s"] + row["windows_s"] + row["solve_s"] + row["check_s"])


def verdicts(name: str, row: dict[str, Any]) -> dict[str, str]:
    """PASS or MISS with the figure, per target."""
    t = TARGETS.get(name)
    if t is None:
        return {"none": "no target at this size"}
    if "objective" not in row:
        return {"all": f"MISS: no allocator run finished in {row['timeout']:.0f} s"}
    out = {}
    gap = 100 * row["gap"]
    out["gap"] = f"{'PASS' if row['gap'] <= t.gap else 'MISS'} ({gap:.3f}% vs <= {100 * t.gap}%)"
    secs = allocator_seconds(row)
    ok = secs <= t.seconds
    out["time"] = f"{'PASS' if ok else 'MISS'} ({secs:.1f} s vs <= {t.seconds:.0f} s)"
    if t.rss_mb is not None:
        ok = row["peak_rss_mb"] <= t.rss_mb
        out["rss"] = f"{'PASS' if ok else 'MISS'} ({row['peak_rss_mb']:.0f} MB vs <= 4 GB)"
    greedy_obj = row["greedy"].get("objective")
    if greedy_obj:
        ratio = row["objective"] / greedy_obj - 1
        ok = ratio >= t.over_greedy
        out["over_greedy"] = f"{'PASS' if ok else 'MISS'} (+{100 * ratio:.1f}% vs >= +8%)"
    else:
        out["over_greedy"] = "MISS (no greedy figure)"
    return out


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def _baseline_cell(b: dict[str, Any], with_status: bool) -> str:
    if "skipped" in b:
        return "skipped"
    if "timeout" in b:
        return f"not done in {b['timeout']:.0f} s"
    status = f", {b['status']}" if with_status else ""
    return f"{_fmt(b['objective'])} ({b['seconds']:.1f}{status})"


def table(rows: dict[str, dict[str, Any]]) -> str:
    """The markdown tables: figures, then targets."""
    head = (
        "| instance | candidates | windows (binding / full in plan) | build s | solve s | "
        "check s | status | objective | bound | gap | peak RSS MB | flow exact | "
        "greedy obj (s) | plan vs greedy | naive CP-SAT obj (s) |\n"
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|\n"
    )
    lines = []
    for name, r in rows.items():
        greedy_cell = _baseline_cell(r["greedy"], False)
        naive_cell = _baseline_cell(r["naive"], True)
        if "objective" not in r:
            lines.append(
                f"| {name} | | | | not done in {r['timeout']:.0f} s | | | | | | | | "
                f"{greedy_cell} | | {naive_cell} |"
            )
            continue
        g = r["greedy"].get("objective")
        ratio = f"+{100 * (r['objective'] / g - 1):.1f}%" if g else "-"
        lines.append(
            f"| {name} | {r['candidates']:,} | {r['windows']:,} ({r['windows_binding']:,} / "
            f"{r['windows_full']:,}) | {r['instance_s'] + r['windows_s']:.2f} | "
            f"{r['solve_s']:.2f} | {r['check_s']:.2f} | {r['status']} | {r['objective']:,} | "
            f"{r['bound']:,} | {100 * r['gap']:.3f}% | {r['peak_rss_mb']:.0f} | "
            f"{r['flow_exact']} | {greedy_cell} | {ratio} | {naive_cell} |"
        )
    targets = "\n\n| instance | target | verdict |\n|---|---|---|\n" + "\n".join(
        f"| {name} | {key} | {verdict} |"
        for name, r in rows.items()
        for key, verdict in r["targets"].items()
    )
    note = "\n\nM-Q, L-Q: slot weights 0.5-3 by local hour; -flat: the same without weights."
    return head + "\n".join(lines) + targets + note
