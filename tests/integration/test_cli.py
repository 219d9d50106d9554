"""The `vdist` command line as a person meets it: one-line errors, exit codes, plan, status.

Every command runs as a subprocess (`python -m server.cli ...`), against the real server of
the `server` fixture where it needs one.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts
from server.cli import HelpFormatter, build_parser
from tests.support.factories import channel, setup, video
from tests.support.servers import start_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clean_env(tmp_path_factory):
    """The environment without VDIST_* settings, data written under a temporary folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VDIST_")}
    env["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg"))
    return env


def vdist(env, *argv, timeout=60):
    """Runs `vdist argv...`; returns (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


def one_line_error(stderr, command):
    """The single stderr line of a failed command (no traceback)."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"vdist {command}: "), stderr
    return lines[0]


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def utc_daily(cid, *times):
    return channel(cid, times=times or ("09:00",), timezone="UTC")


def tomorrow():
    return (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0)


# --- without a server ------------------------------------------------------------------------


def test_every_option_shows_its_default():
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == {"serve", "migrate", "worker", "plan", "status", "report"}
    for name, command in sub.choices.items():
        formatter = HelpFormatter(name)
        for action in command._actions:
            if not action.option_strings or action.nargs == 0:
                continue  # --help and on/off flags
            text = formatter._get_help_string(action) or ""
            assert "default" in text, f"vdist {name} {action.option_strings[0]}: {text!r}"


def test_worker_folder_defaults_outside_the_checkout(clean_env):
    code, out, _ = vdist({**clean_env, "COLUMNS": "400"}, "worker", "--help")
    assert code == 0
    folder = Path(clean_env["XDG_DATA_HOME"]) / "vdist" / "published"
    assert f"(default: {folder})" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["serve", "--address", "nonsense"], "not host:port"),
        (["serve", "--database-url", "foo://x"], "unknown driver 'foo'"),
        (["serve", "--database-url", "sqlite:////nonexistent-vdist/dir/x.db"], "no folder"),
        (["migrate", "--database-url", "nonsense"], "is not a URL"),
        (["worker", "--publisher", "nope"], "no publisher 'nope'; known: flaky, local"),
        (["worker", "--option", "x"], "'x' is not KEY=VALUE"),
        (["worker", "--option", "colour=red"], "publisher 'local' takes no such option"),
        (["worker", "--publisher", "flaky", "--option", "fail_rate=2"], "between 0 and 1"),
        (["plan", "--start", "yesterday"], "'yesterday' is not an ISO 8601 time"),
        (["plan", "--tls-cert", "c.pem", "--tls-key", "k.pem"], "need --tls-ca"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(clean_env, argv, words):
    code, _, err = vdist(clean_env, *argv)
    assert code == 2, err
    assert words in one_line_error(err, argv[0])


def test_busy_port_is_one_line(clean_env, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        code, _, err = vdist(
            clean_env, "serve", "--address", address, "--database-url", f"sqlite:///{tmp_path}/x"
        )
    assert code == 2
    assert f"cannot listen on {address}: Address already in use" in one_line_error(err, "serve")


def test_unreachable_database_is_one_line(clean_env):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/x"
    code, _, err = vdist(clean_env, "serve", "--address", "127.0.0.1:0", "--database-url", url)
    assert code == 1
    line = one_line_error(err, "serve")
    assert f"cannot use the database {url}:" in line and "refused" in line


@pytest.mark.parametrize("command", ["worker", "plan", "status"])
def test_unreachable_server_is_one_line(clean_env, command):
    target = f"127.0.0.1:{closed_port()}"
    code, _, err = vdist(clean_env, command, "--target", target, "--connect-timeout", "1")
    assert code == 1
    assert f"cannot reach vdist at {target}: " in one_line_error(err, command)


def test_debug_shows_the_traceback(clean_env):
    target = f"127.0.0.1:{closed_port()}"
    code, _, err = vdist(clean_env, "--debug", "plan", "--target", target)
    assert code == 1
    assert "Traceback" in err and "ServerUnreachable" in err


def test_status_of_a_server_that_is_not_serving(clean_env, tmp_path):
    handle = start_server(f"sqlite:///{tmp_path}/down.db", health_probe_seconds=0)
    try:
        handle.running.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        code, out, _ = vdist(clean_env, "status", "--target", handle.address)
    finally:
        handle.close()
    assert code == 1
    assert "NOT_SERVING" in out


# --- against the server of each backend ------------------------------------------------------


def _plan_rows(out, title):
    """The rows of the table under `title (N):` as lists of cells (two spaces apart)."""
    lines = out.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith(f"{title} (")]
    rows = []
    for line in lines[at + 2 :]:
        if not line.strip() or line.startswith("first "):
            break
        rows.append([cell.strip() for cell in line.split("  ") if cell.strip()])
    return int(lines[at].split("(")[1].split(")")[0]), lines[at + 1].split(), rows


def test_plan_prints_assignments_skips_and_json(server, uid, clean_env):
    cs = [utc_daily(f"cli{i}-{uid}") for i in range(2)]
    vs = [video(f"cliv{j}-{uid}", views=1000 * (j + 1)) for j in range(3)]
    setup(server.stub, cs, vs)
    argv = ["plan", "--target", server.address, "--start", tomorrow().isoformat()]
    argv += ["--days", "1", "--channel", cs[0].id, "--channel", cs[1].id]
    # Only this test's videos: the session database holds other tests' READY videos.
    argv += [arg for v in vs for arg in ("--video", v.id)]

    code, out, err = vdist(clean_env, *argv)
    assert code == 0, err
    assert err == "", "no progress line when stderr is not a terminal"
    assert "OPTIMAL" in out and "dry run" in out
    count, header, rows = _plan_rows(out, "assignments")
    assert count == 2 and header == ["channel", "slot", "(UTC)", "video", "score"]
    assert {r[0] for r in rows} == {cs[0].id, cs[1].id}
    for _channel, slot, video_id, score in rows:
        assert datetime.strptime(slot, "%Y-%m-%dT%H:%M:%SZ").hour == 9
        assert video_id in {v.id for v in vs} and int(score) > 0
    skipped, header, rows = _plan_rows(out, "skipped")
    assert skipped == 1 and header == ["video", "code", "reason"]
    [[video_id, reason_code, *reason]] = rows
    assert video_id in {v.id for v in vs} and reason_code.isupper() and reason

    code, out, err = vdist(clean_env, *argv, "--json", "--progress")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["dryRun"] is True and plan["assignmentCount"] == "2"
    assert len(plan["assignments"]) == 2 and plan["skipped"][0]["code"] == reason_code
    assert "planning... 0 s" in err


def test_plan_apply_is_idempotent_and_names_the_actor(server, uid, clean_env):
    c = utc_daily(f"cliapply-{uid}")
    setup(server.stub, [c], [video(f"cliapplyv-{uid}")])
    argv = ["plan", "--target", server.address, "--start", tomorrow().isoformat(), "--days", "1"]
    argv += ["--channel", c.id, "--apply", "--request-id", f"nightly-{uid}", "--actor", "alice"]
    code, first, err = vdist(clean_env, *argv)
    assert code == 0, err
    assert "written" in first
    code, again, err = vdist(clean_env, *argv)
    assert code == 0, err
    assert first.split()[1] == again.split()[1], "the same run id"
    [d] = server.stub.ListDistributions(svc.ListDistributionsRequest(channel_id=c.id)).distributions
    assert d.actor == "alice" and d.run_id == first.split()[1]


def _one_day_plan(server, name: str) -> tuple[pb.Channel, list[pb.Video], list[str]]:
    """A channel with two slots tomorrow, two videos, and `vdist plan` argv over them."""
    c = utc_daily(name, "09:00", "18:00")
    vs = [video(f"{name}-v{j}", views=100 * (j + 1)) for j in range(2)]
    setup(server.stub, [c], vs)
    argv = ["plan", "--target", server.address, "--start", tomorrow().isoformat(), "--days", "1"]
    argv += ["--channel", c.id, *(arg for v in vs for arg in ("--video", v.id))]
    return c, vs, argv


def _take_first_slot(server, video_id: str, channel_id: str) -> pb.Distribution:
    """The horizon's first slot taken by hand (a forced Assign at tomorrow's midnight)."""
    result = server.stub.Assign(
        svc.AssignRequest(
            video_id=video_id,
            channel_ids=[channel_id],
            force=True,
            scheduled_at=dt_to_ts(tomorrow()),
        )
    )
    return result.results[0].distribution


def test_plan_then_apply_with_its_digest_writes_what_was_shown(server, uid, clean_env):
    c, vs, argv = _one_day_plan(server, f"clidig-{uid}")

    def dry_run() -> tuple[str, list]:
        code, shown, err = vdist(clean_env, *argv)
        assert code == 0, err
        [hint] = [line for line in shown.splitlines() if line.startswith("input digest ")]
        digest = hint.split()[2].rstrip(":")
        assert f"--apply --expect-digest {digest}" in hint
        return digest, _plan_rows(shown, "assignments")[2]

    digest, shown_rows = dry_run()
    # The inputs change: a slot of the horizon is taken by hand.
    taken = _take_first_slot(server, vs[0].id, c.id)
    code, _, err = vdist(clean_env, *argv, "--apply", "--expect-digest", digest)
    assert code == 1 and "ABORTED" in one_line_error(err, "plan") and "inputs changed" in err
    listed = server.stub.ListDistributions(svc.ListDistributionsRequest(channel_id=c.id))
    assert [d.id for d in listed.distributions] == [taken.id], "the refused apply wrote nothing"

    server.stub.CancelDistribution(svc.CancelDistributionRequest(id=taken.id))
    assert dry_run() == (digest, shown_rows), "the same inputs again: the same digest and plan"
    code, written, err = vdist(clean_env, *argv, "--apply", "--expect-digest", digest)
    assert code == 0, err
    assert _plan_rows(written, "assignments")[2] == shown_rows


def test_plan_then_apply_the_proposal_writes_it_or_names_the_taken_slot(server, uid, clean_env):
    c, vs, argv = _one_day_plan(server, f"cliprop-{uid}")

    def propose() -> tuple[str, list]:
        code, shown, err = vdist(clean_env, *argv)
        assert code == 0, err
        [hint] = [line for line in shown.splitlines() if line.startswith("proposal ")]
        return hint.split()[1].rstrip(":"), _plan_rows(shown, "assignments")[2]

    run_id, shown_rows = propose()
    taken = _take_first_slot(server, vs[0].id, c.id)
    code, _, err = vdist(clean_env, *argv, "--apply", run_id)
    assert code == 1 and "ABORTED" in one_line_error(err, "plan") and taken.id in err
    server.stub.CancelDistribution(svc.CancelDistributionRequest(id=taken.id))
    run_id, shown_rows = propose()
    code, written, err = vdist(clean_env, *argv, "--apply", run_id)
    assert code == 0, err
    assert written.split()[1] == run_id
    assert _plan_rows(written, "assignments")[2] == shown_rows


def test_plan_error_answer_is_one_line(server, clean_env):
    code, _, err = vdist(clean_env, "plan", "--target", server.address, "--days", "100")
    assert code == 1
    line = one_line_error(err, "plan")
    assert "INVALID_ARGUMENT: " in line and "horizon_end" in line


def test_status_shows_health_version_backlog_and_counts(server, uid, clean_env):
    c = utc_daily(f"clistatus-{uid}")
    setup(server.stub, [c], [video(f"clistatusv-{uid}")])
    past = dt_to_ts(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2))
    server.stub.Assign(
        svc.AssignRequest(
            video_id=f"clistatusv-{uid}", channel_ids=[c.id], force=True, scheduled_at=past
        )
    )
    code, out, err = vdist(clean_env, "status", "--target", server.address)
    assert code == 0, err
    facts = dict(line.split(None, 1) if " " in line else (line, "") for line in out.splitlines())
    facts = {k: v.strip() for k, v in facts.items()}
    assert facts["target"] == server.address and facts["health"] == "SERVING"
    assert facts["version"] and facts["version"] != "unknown"
    assert int(out.split("due now")[1].split()[0]) >= 1 and "oldest due" in out
    assert int(facts["channels"]) >= 1 and int(facts["runs"]) >= 0


def test_worker_logs_one_line_per_batch(server, uid, clean_env, tmp_path):
    c = utc_daily(f"cliworker-{uid}")
    setup(server.stub, [c], [video(f"cliworkerv-{uid}")])
    past = dt_to_ts(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2))
    server.stub.Assign(
        svc.AssignRequest(
            video_id=f"cliworkerv-{uid}", channel_ids=[c.id], force=True, scheduled_at=past
        )
    )
    code, out, err = vdist(
        clean_env,
        "worker",
        "--target",
        server.address,
        "--until-idle",
        "--channel",
        c.id,
        "--folder",
        str(tmp_path),
    )
    assert code == 0, err
    assert "leased 1, published 1, failed 0" in err
    assert "leased=1 published=1" in out
    assert len(list(tmp_path.glob("*.json"))) == 1
