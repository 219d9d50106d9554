"""`vdist report` on a seeded plan, rendered by a real browser (Debian's chromium, headless).

The page's content is checked through the DOM that chromium built (`--dump-dom`: after its
inline script ran), not only that a PNG came out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from distribution.v1 import distribution_service_pb2 as svc
from server.api.converters import dt_to_ts
from server.cli import main
from tests.support.factories import channel, setup, video
from tests.support.servers import ServerHandle

CHROMIUM = shutil.which("chromium")
DAYS = 7
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(tmp_path: Path, *args: str) -> str:
    assert CHROMIUM, "chromium is missing: `apt-get install -y chromium` (.ci/run does it)"
    profile = tmp_path / "profile"
    done = subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Cells(HTMLParser):
    """The slot cells of the DOM (their attributes) and the summary line."""

    def __init__(self) -> None:
        super().__init__()
        self.slots: list[dict[str, str]] = []
        self.summary = ""
        self._in_summary = False
        self._channel = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "section" and "data-channel" in values:
            self._channel = values["data-channel"]
        if "slot" in values.get("class", "").split():
            self.slots.append({**values, "channel": self._channel})
        self._in_summary = values.get("id") == "summary"

    def handle_data(self, data: str) -> None:
        if self._in_summary:
            self.summary += data

    def handle_endtag(self, tag: str) -> None:
        self._in_summary = False


def test_report_of_a_seeded_plan_renders_in_chromium(
    server: ServerHandle, uid: str, tmp_path: Path
) -> None:
    stub = server.stub
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today + timedelta(days=2)
    a, b = f"rep-a-{uid}", f"rep-b-{uid}"
    blackout = channel(a, times=("09:00", "18:00"), timezone="UTC")
    window = blackout.schedule.blackouts.add()
    window.start_time.CopyFrom(dt_to_ts(start + timedelta(days=1)))
    window.end_time.CopyFrom(dt_to_ts(start + timedelta(days=2)))
    videos = [video(f"rep-v{i}-{uid}") for i in range(12)]
    setup(stub, [blackout, channel(b, times=("09:00", "18:00"), timezone="UTC")], videos)
    manual_at = start + timedelta(hours=9)
    assigned = stub.Assign(
        svc.AssignRequest(video_id=videos[0].id, channel_ids=[b], scheduled_at=dt_to_ts(manual_at))
    )
    assert assigned.results[0].outcome == svc.ASSIGN_OUTCOME_ASSIGNED
    run = stub.AutoDistribute(
        svc.AutoDistributeRequest(
            mode=svc.AUTO_DISTRIBUTE_MODE_SCHEDULE,
            channel_ids=[a, b],
            video_ids=[v.id for v in videos[1:]],
            horizon_start=dt_to_ts(start),
            horizon_end=dt_to_ts(start + timedelta(days=DAYS)),
            time_limit_seconds=10,
        )
    )
    planned = len(run.assignments)
    assert planned > 0
    stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(
            channel_id=b, available=False, until=dt_to_ts(start + timedelta(days=3)), reason="x"
        )
    )

    page = tmp_path / "report.html"
    argv = ["report", "--target", server.address, "--output", str(page)]
    argv += ["--start", start.date().isoformat(), "--days", str(DAYS)]
    argv += ["--channel", a, "--channel", b, "--run", run.run_id]
    assert main(argv) == 0
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=|@import|url\(\s*['"]?http""", text), "network"

    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    cells = _Cells()
    cells.feed(dom)
    slots = 2 * DAYS * 2  # two UTC channels, two slots a day, blackout slots shown shaded
    filled = planned + 1
    assert cells.summary == (
        f"channels 2 · slots {slots} · filled {filled} · free {slots - filled} · "
        f"highlighted {planned}"
    )
    assert len(cells.slots) == slots
    held = {(c["channel"], c["data-at"]): c for c in cells.slots if "data-video" in c}
    manual = held[b, manual_at.isoformat()]
    assert manual["data-video"] == videos[0].id and "highlighted" not in manual["class"]
    for placed in run.assignments:
        cell = held[placed.channel_id, placed.scheduled_at.ToDatetime(UTC).isoformat()]
        assert cell["data-video"] == placed.video_id and "highlighted" in cell["class"]
    blacked = [c for c in cells.slots if "blocked-blackout" in c["class"]]
    assert len(blacked) == 2 and all("data-video" not in c and c["channel"] == a for c in blacked)
    shaded = [c for c in cells.slots if "blocked-outage" in c["class"]]
    assert len(shaded) == 2 * 3 and {c["channel"] for c in shaded} == {b}  # its first 3 days

    png = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={png}", "--window-size=1400,1600", page.as_uri())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    # A re-planning proposal after an outage of channel a, drawn over the current plan.
    stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(
            channel_id=a, available=False, until=dt_to_ts(start + timedelta(days=2)), reason="y"
        )
    )
    proposal = stub.AutoDistribute(
        svc.AutoDistributeRequest(
            mode=svc.AUTO_DISTRIBUTE_MODE_SCHEDULE,
            channel_ids=[a, b],
            video_ids=[v.id for v in videos[1:]],
            horizon_start=dt_to_ts(start),
            horizon_end=dt_to_ts(start + timedelta(days=DAYS)),
            replan=True,
            freeze_until=dt_to_ts(start),
            time_limit_seconds=10,
            dry_run=True,
        )
    )
    leaving = {
        (c.channel_id, c.from_time.ToDatetime(UTC).isoformat()): c
        for c in proposal.changes
        if c.kind in (svc.PLAN_CHANGE_KIND_MOVED, svc.PLAN_CHANGE_KIND_DROPPED)
    }
    assert leaving and all(ch == a for ch, _ in leaving), "the outage hits channel a only"
    argv[argv.index("--run") + 1] = proposal.run_id
    assert main(argv) == 0
    cells = _Cells()
    cells.feed(_chromium(tmp_path, "--dump-dom", page.as_uri()))
    changed = {
        (c["channel"], c["data-at"]): c["data-change"] for c in cells.slots if "data-change" in c
    }
    assert cells.summary.endswith(f" · changes {len(changed)}")
    for key, change in leaving.items():
        kind = "dropped" if change.kind == svc.PLAN_CHANGE_KIND_DROPPED else "moved-out"
        # Its cell shows it leaving, or what takes its place.
        assert changed[key] in (kind, "added", "moved-in")
    for change in proposal.changes:
        if change.kind != svc.PLAN_CHANGE_KIND_DROPPED:
            key = (change.channel_id, change.to_time.ToDatetime(UTC).isoformat())
            assert changed[key] in ("added", "moved-in")


@pytest.mark.parametrize("days", ["0", "32"])
def test_report_days_out_of_range_is_a_usage_error(
    days: str, server: ServerHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--target", server.address, "--days", days]
    assert main([*argv, "--output", str(tmp_path / "r.html")]) == 2
    assert "--days" in capsys.readouterr().err
