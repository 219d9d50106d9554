"""After the run: every invariant of DESIGN.md in SQL over the private database, and the ledger.

Each check returns human-readable violations; `run_checks` groups them by invariant. The
decision trail of every distribution is replayed through the lifecycle: it must begin with
its creating decision and every state change must have its decision, ending in the state the
row holds, with the attempts the row counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tests.chaos.ledger import Ledger
from tests.chaos.load import BACKOFF_MULTIPLIER, INITIAL_BACKOFF, MAX_BACKOFF

LIVE = ("ASSIGNED", "SCHEDULED", "PUBLISHING", "PUBLISHED")
LIVE_SQL = "state IN ('ASSIGNED', 'SCHEDULED', 'PUBLISHING', 'PUBLISHED')"
#: Slack for comparing decision times written by one machine's clock in two transactions.
CLOCK_SLACK = timedelta(milliseconds=500)

Violations = dict[str, list[str]]


def _rows(conn: psycopg.Connection[Any], sql: str, *params: Any) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)  # type: ignore[arg-type]
        return list(cur.fetchall())


def run_checks(dsn: str, ledger: Ledger, manifests: Path) -> tuple[Violations, Violations, dict]:
    """(invariant violations, lost writes, facts) of the database behind `dsn`."""
    violations: Violations = defaultdict(list)
    lost: Violations = defaultdict(list)
    with psycopg.connect(dsn) as conn:
        conn.read_only = True
        distributions = _rows(conn, "SELECT * FROM distributions")
        decisions = _rows(conn, "SELECT * FROM decisions ORDER BY id")
        runs = _rows(conn, "SELECT * FROM runs")
        videos = {r["id"]: r for r in _rows(conn, "SELECT id, source_url FROM videos")}
        channels = {r["id"] for r in _rows(conn, "SELECT id FROM channels")}
        stored = {
            (r["method"], r["request_id"]): bytes(r["response"])
            for r in _rows(conn, "SELECT method, request_id, response FROM stored_responses")
        }
        _invariant_1(conn, distributions, videos, ledger, violations["1 duplicates"])
        _invariant_2(conn, violations["2 slots"])
        facts = _invariant_3_and_5(distributions, decisions, violations)
        _invariant_4(distributions, decisions, runs, violations["4 runs"])
    by_id = {d["id"]: d for d in distributions}
    _invariant_6(ledger, stored, violations["6 idempotency"])
    _ledger(ledger, by_id, runs, videos, channels, lost)
    _manifests(manifests, by_id, violations["5 publishing"], facts)
    facts.update(
        distributions=len(distributions),
        decisions=len(decisions),
        runs=len(runs),
        by_state=dict(Counter(d["state"] for d in distributions)),
    )
    return (
        {k: v for k, v in violations.items() if v},
        {k: v for k, v in lost.items() if v},
        facts,
    )


def _invariant_1(
    conn: psycopg.Connection[Any],
    distributions: list[dict[str, Any]],
    videos: dict[str, dict[str, Any]],
    ledger: Ledger,
    out: list[str],
) -> None:
    for column in ("video_id", "source_url"):
        for r in _rows(
            conn,
            f"SELECT channel_id, {column} AS value, count(*) AS n FROM distributions "
            f"WHERE {LIVE_SQL} AND NOT duplicate_override "
            f"GROUP BY channel_id, {column} HAVING count(*) > 1",
        ):
            out.append(f"{r['n']} live distributions of {column} {r['value']} on {r['channel_id']}")
    # Independently of the server's normaliser: the clients know which videos share a source.
    seen: dict[tuple[str, str], str] = {}
    for d in distributions:
        if d["state"] not in LIVE or d["duplicate_override"]:
            continue
        family = ledger.family.get(d["video_id"])
        if family is None:
            continue
        key = (d["channel_id"], family)
        if key in seen:
            out.append(
                f"source family {family} live twice on {d['channel_id']}: "
                f"{seen[key]} and {d['id']} (videos spelled the URL differently)"
            )
        seen[key] = d["id"]
        video = videos.get(d["video_id"])
        if video is not None and d["source_url"] != video["source_url"]:
            out.append(f"{d['id']}: source_url {d['source_url']} is not its video's")


def _invariant_2(conn: psycopg.Connection[Any], out: list[str]) -> None:
    for r in _rows(
        conn,
        f"SELECT channel_id, scheduled_at, count(*) AS n FROM distributions WHERE {LIVE_SQL} "
        "GROUP BY channel_id, scheduled_at HAVING count(*) > 1",
    ):
        out.append(f"slot {r['channel_id']} {r['scheduled_at']} held by {r['n']} live ones")


#: decision kind -> (states it may follow, state it leads to); None: the distribution is new.
STEPS: dict[str, tuple[tuple[str | None, ...], str | None]] = {
    "ASSIGNED": ((None,), "SCHEDULED"),
    "OVERRIDE": ((None,), "SCHEDULED"),
    "LEASED": (("SCHEDULED", "PUBLISHING"), "PUBLISHING"),
    "LEASE_EXPIRED": (("PUBLISHING",), None),
    "PUBLISHED": (("PUBLISHING",), "PUBLISHED"),
    "RETRY_SCHEDULED": (("PUBLISHING",), "SCHEDULED"),
    "GAVE_UP": (("PUBLISHING",), "FAILED"),
    "RETRIED": (("FAILED",), "SCHEDULED"),
    "CANCELLED": (("ASSIGNED", "SCHEDULED"), "CANCELLED"),
}
#: Decisions that name a distribution without changing it.
NOT_STEPS = {"REJECTED", "SKIPPED", "AVAILABILITY_CHANGED"}


def _nominal_backoff(attempts: int) -> float:
    return min(INITIAL_BACKOFF * BACKOFF_MULTIPLIER ** (attempts - 1), MAX_BACKOFF)


def _lease_until(reason: str) -> datetime | None:
    _, sep, tail = reason.rpartition(" until ")
    try:
        return datetime.fromisoformat(tail.strip()) if sep else None
    except ValueError:
        return None


def _invariant_3_and_5(
    distributions: list[dict[str, Any]], decisions: list[dict[str, Any]], v: Violations
) -> dict[str, Any]:
    trail: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in decisions:
        if d["distribution_id"] and d["kind"] not in NOT_STEPS:
            trail[d["distribution_id"]].append(d)
    ids = {d["id"] for d in distributions}
    for orphan in sorted(set(trail) - ids)[:20]:
        v["3 decisions"].append(f"decisions about {orphan}, which does not exist")
    facts: Counter[str] = Counter()
    for row in distributions:
        _replay(row, trail.get(row["id"], []), v, facts)
        if row["attempts"] > row["max_attempts"]:
            v["5 publishing"].append(
                f"{row['id']}: attempts {row['attempts']} > max_attempts {row['max_attempts']}"
            )
        if row["state"] == "PUBLISHING" and (not row["lease_token"] or not row["lease_expires_at"]):
            v["5 publishing"].append(f"{row['id']} is PUBLISHING without a lease")
        if row["state"] == "FAILED":
            last = next(
                (d for d in reversed(trail.get(row["id"], [])) if d["kind"] == "GAVE_UP"), None
            )
            code = (last or {}).get("details", {}).get("code")
            if row["attempts"] != row["max_attempts"] and code != "NOT_RETRYABLE":
                v["5 publishing"].append(
                    f"{row['id']} FAILED with attempts {row['attempts']}/{row['max_attempts']} "
                    f"and give-up code {code}"
                )
    return dict(facts)


def _replay(
    row: dict[str, Any], trail: list[dict[str, Any]], v: Violations, facts: Counter[str]
) -> None:
    rid = row["id"]
    state: str | None = None
    attempts = 0
    previous: dict[str, Any] | None = None
    lease_until: datetime | None = None
    not_before: datetime | None = None
    for d in trail:
        kind = d["kind"]
        facts[f"decisions_{kind}"] += 1
        if d["video_id"] != row["video_id"] or d["channel_id"] != row["channel_id"]:
            v["3 decisions"].append(f"{rid}: {kind} decision {d['id']} names another pair")
        if kind not in STEPS:
            v["3 decisions"].append(f"{rid}: unknown decision kind {kind}")
            continue
        sources, target = STEPS[kind]
        if state not in sources:
            v["3 decisions"].append(
                f"{rid}: {kind} (decision {d['id']}) in state {state}; trail "
                + ",".join(x["kind"] for x in trail)
            )
        if (
            kind == "LEASED"
            and state == "PUBLISHING"
            and (previous or {}).get("kind") != ("LEASE_EXPIRED")
        ):
            v["5 publishing"].append(f"{rid}: leased again (decision {d['id']}) while leased")
        if kind == "LEASED":
            if not_before is not None and d["time"] < not_before - CLOCK_SLACK:
                v["5 publishing"].append(
                    f"{rid}: leased at {d['time']} before its backoff ended ({not_before})"
                )
            not_before = None
            lease_until = _lease_until(d["reason"])
        if kind == "LEASE_EXPIRED":
            facts["lease_expired"] += 1
            if lease_until is not None and d["time"] < lease_until:
                v["5 publishing"].append(
                    f"{rid}: lease taken over at {d['time']} before it expired ({lease_until})"
                )
        details = d["details"] or {}
        if kind in ("PUBLISHED", "GAVE_UP") or (
            kind == "RETRY_SCHEDULED" and details.get("code") == "RETRYABLE"
        ):
            attempts += 1
        if kind == "PUBLISHED" and details.get("after_unconfirmed"):
            facts["published_after_unconfirmed"] += 1
        if kind == "RETRY_SCHEDULED" and details.get("code") == "RETRYABLE":
            backoff = float(details.get("backoff_seconds", 0.0))
            nominal = _nominal_backoff(attempts)
            if not 0.5 * nominal - 0.01 <= backoff <= nominal + 0.01:
                v["5 publishing"].append(
                    f"{rid}: backoff {backoff}s after attempt {attempts}, "
                    f"expected within [{0.5 * nominal}, {nominal}]"
                )
            not_before = d["time"] + timedelta(seconds=backoff)
        if kind == "RETRIED" and details.get("reset_attempts"):
            attempts = 0
        if target is not None:
            state = target
        previous = d
    if not trail or trail[0]["kind"] not in ("ASSIGNED", "OVERRIDE"):
        v["3 decisions"].append(f"{rid} ({row['state']}) has no creating decision first")
        return
    if state != row["state"]:
        v["3 decisions"].append(
            f"{rid}: row is {row['state']} but its decisions end in {state}: "
            + ",".join(x["kind"] for x in trail)
        )
    if attempts != row["attempts"]:
        v["5 publishing"].append(
            f"{rid}: {row['attempts']} attempts counted, {attempts} charged by decisions"
        )


def _invariant_4(
    distributions: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    out: list[str],
) -> None:
    per_run = Counter(d["run_id"] for d in distributions if d["run_id"])
    assigned = Counter(d["run_id"] for d in decisions if d["run_id"] and d["kind"] == "ASSIGNED")
    known = {r["id"] for r in runs}
    for r in runs:
        # A dry run is stored as a proposal (issue #13): its plan is counted, nothing written.
        written = r["assignment_count"] if r["state"] == "APPLIED" else 0
        if per_run[r["id"]] != written:
            out.append(
                f"run {r['id']}: assignment_count {r['assignment_count']}, "
                f"{per_run[r['id']]} distributions"
            )
        if assigned[r["id"]] != written:
            out.append(
                f"run {r['id']}: assignment_count {r['assignment_count']}, "
                f"{assigned[r['id']]} ASSIGNED decisions"
            )
    for run_id in sorted(set(per_run) - known)[:20]:
        out.append(f"{per_run[run_id]} distributions reference missing run {run_id}")
    for d in distributions:
        if d["method"] != "MANUAL" and d["run_id"] not in known:
            out.append(f"{d['id']} ({d['method']}) has no run")


def _invariant_6(ledger: Ledger, stored: dict[tuple[str, str], bytes], out: list[str]) -> None:
    out.extend(ledger.replay_mismatches)
    for entry in ledger.acked_requests():
        got = stored.get((entry.method, entry.request_id))
        if got is None:
            out.append(f"{entry.method} {entry.request_id}: acknowledged, no stored response")
        elif got != entry.first:
            out.append(f"{entry.method} {entry.request_id}: stored response differs from answer")


def _ledger(
    ledger: Ledger,
    by_id: dict[str, dict[str, Any]],
    runs: list[dict[str, Any]],
    videos: dict[str, Any],
    channels: set[str],
    lost: Violations,
) -> None:
    for did, (video_id, channel_id) in ledger.distributions.items():
        row = by_id.get(did)
        if row is None:
            lost["distributions"].append(f"acknowledged distribution {did} is missing")
        elif (row["video_id"], row["channel_id"]) != (video_id, channel_id):
            lost["distributions"].append(f"{did} changed pair to {row['video_id']}")
    run_rows = {r["id"]: r for r in runs}
    for run_id, (count, ids) in ledger.runs.items():
        row = run_rows.get(run_id)
        if row is None:
            lost["runs"].append(f"acknowledged run {run_id} is missing")
        elif row["assignment_count"] != count:
            lost["runs"].append(f"run {run_id}: answered {count}, stored {row['assignment_count']}")
        for did in ids:
            if did in by_id and by_id[did]["run_id"] != run_id:
                lost["runs"].append(f"{did} of run {run_id} has run {by_id[did]['run_id']}")
    for did in ledger.cancels:
        row = by_id.get(did)
        if row is None or row["state"] != "CANCELLED":
            lost["cancels"].append(
                f"acknowledged cancel of {did} undone: {row['state'] if row else 'missing'}"
            )
    for did, external_id in ledger.published.items():
        row = by_id.get(did)
        if row is None or row["state"] != "PUBLISHED" or row["external_id"] != external_id:
            lost["publications"].append(
                f"acknowledged publication of {did} as {external_id} is "
                f"{(row['state'], row['external_id']) if row else 'missing'}"
            )
    for video_id in sorted(ledger.videos - set(videos))[:20]:
        lost["videos"].append(f"acknowledged video {video_id} is missing")
    for channel_id in sorted(ledger.channels - channels):
        lost["channels"].append(f"acknowledged channel {channel_id} is missing")
    lost["answers"].extend(ledger.answer_problems)


def _manifests(
    folder: Path, by_id: dict[str, dict[str, Any]], out: list[str], facts: dict[str, Any]
) -> None:
    """The flaky workers' posts: one manifest per distribution they published, none extra."""
    names = {p.stem for p in folder.glob("*.json")}
    facts["manifests"] = len(names)
    for name in sorted(names):
        row = by_id.get(name)
        if row is None:
            out.append(f"manifest {name}.json names no distribution")
    for did, row in by_id.items():
        if row["state"] == "PUBLISHED" and row["external_id"].startswith("local-"):
            if did not in names:
                out.append(f"{did} PUBLISHED as {row['external_id']} without a manifest")
            elif row["external_id"] != f"local-{did}":
                out.append(f"{did} PUBLISHED as {row['external_id']}, not its idempotency key")
