"""vdist report's values from API messages: slots, bookings, shading, outcomes per day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts
from server.cli.report import build
from server.cli.report_html import render
from tests.support.factories import channel

DAYS = [date(2030, 3, 30), date(2030, 3, 31)]  # Europe/Berlin springs forward on the 31st


def _dist(i: int, at: datetime, state: int, run: str = "") -> pb.Distribution:
    return pb.Distribution(
        id=f"d{i}",
        video_id=f"v{i}",
        channel_id="c",
        state=state,
        method=pb.DISTRIBUTION_METHOD_MANUAL,
        scheduled_at=dt_to_ts(at),
        score=10 * i,
        run_id=run,
    )


def test_slots_follow_the_channel_calendar_and_outcomes_count_per_local_day() -> None:
    berlin = channel("c", times=("02:30", "18:00"))  # 02:30 does not exist on the 31st
    dists = [
        _dist(1, datetime(2030, 3, 30, 17, 0, tzinfo=UTC), pb.DISTRIBUTION_STATE_PUBLISHED),
        _dist(2, datetime(2030, 3, 31, 16, 0, tzinfo=UTC), pb.DISTRIBUTION_STATE_FAILED, "r"),
        _dist(3, datetime(2030, 3, 31, 12, 5, tzinfo=UTC), pb.DISTRIBUTION_STATE_SCHEDULED, "r"),
        _dist(4, datetime(2030, 3, 30, 17, 0, tzinfo=UTC), pb.DISTRIBUTION_STATE_CANCELLED),
    ]
    report = build([berlin], dists, DAYS, "r")
    (week,) = report.channels
    times = [(s.day, s.local_time, s.on_calendar) for s in week.slots]
    assert times == [
        (date(2030, 3, 30), "02:30", True),
        (date(2030, 3, 30), "18:00", True),
        (date(2030, 3, 31), "03:00", True),  # the gap's end, as the server plans it
        (date(2030, 3, 31), "14:05", False),  # a forced post off the calendar
        (date(2030, 3, 31), "18:00", True),
    ]
    held = {s.local_time + str(s.day.day): s.booking for s in week.slots if s.booking}
    assert held["18:0030"].video_id == "v1"  # the cancelled one frees its slot
    assert held["18:0031"].state == "FAILED" and held["18:0031"].highlighted
    assert report.outcomes == {"c": {date(2030, 3, 30): (1, 0), date(2030, 3, 31): (0, 1)}}
    assert report.states == {"PUBLISHED": 1, "FAILED": 1, "SCHEDULED": 1, "CANCELLED": 1}
    page = render(report)
    assert page.count('class="cell slot') == 5 and "highlighted: run r" in page


def test_an_inactive_channel_is_shaded_whole() -> None:
    idle = channel("c", times=("09:00",), active=False)
    (week,) = build([idle], [], DAYS).channels
    assert [s.blocked for s in week.slots] == ["inactive", "inactive"]


def test_a_proposals_changes_are_drawn_over_the_current_plan() -> None:
    utc = channel("c", times=("09:00", "18:00"), timezone="UTC")
    nine = datetime(2030, 3, 30, 9, 0, tzinfo=UTC)
    held = [_dist(1, nine, pb.DISTRIBUTION_STATE_SCHEDULED), _dist(2, nine.replace(hour=18), 2)]
    changes = [
        svc.PlanChange(
            kind=svc.PLAN_CHANGE_KIND_DROPPED,
            distribution_id="d1",
            video_id="v1",
            channel_id="c",
            from_time=dt_to_ts(nine),
        ),
        svc.PlanChange(
            kind=svc.PLAN_CHANGE_KIND_MOVED,
            distribution_id="d2",
            video_id="v2",
            channel_id="c",
            from_time=dt_to_ts(nine.replace(hour=18)),
            to_time=dt_to_ts(nine.replace(day=31, hour=18)),
        ),
        svc.PlanChange(
            kind=svc.PLAN_CHANGE_KIND_ADDED,
            video_id="v9",
            channel_id="c",
            to_time=dt_to_ts(nine.replace(day=31)),
            score=7,
        ),
    ]
    report = build([utc], held, DAYS, "p", changes)
    marks = {
        (s.day.day, s.local_time): s.booking.change for s in report.channels[0].slots if s.booking
    }
    assert marks == {
        (30, "09:00"): "dropped",
        (30, "18:00"): "moved-out",
        (31, "09:00"): "added",
        (31, "18:00"): "moved-in",
    }
    page = render(report)
    assert page.count("data-change=") == 4 and "highlighted: proposal p" in page


def test_the_success_chart_of_many_channels_starts_folded() -> None:
    few = render(build([channel(f"c{i}", timezone="UTC") for i in range(3)], [], DAYS))
    many = render(build([channel(f"c{i}", timezone="UTC") for i in range(60)], [], DAYS))
    assert 'id="success-chart"' in few and "<details>" not in few
    assert 'id="success-chart"' in many and "<details><summary><b>Upload success" in many
