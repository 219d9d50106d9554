"""`vdist report`: the plan as one self-contained HTML file.

Reads the channels and distributions through the public API (ListChannels, ListDistributions),
lays each channel's posting slots over the days asked for (the same calendar as the server:
allocator.calendar, in the channel's timezone), marks what holds each slot and what is shaded
(blackouts, an outage, an inactive channel), highlights the distributions of one run, and
writes the page (server/cli/report_html.py). Nothing at view time comes from the network.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from allocator import calendar
from allocator import domain as d
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from distribution.v1 import resources_pb2 as pb
from server.cli import connect
from server.cli.errors import UsageError
from server.cli.report_html import Booking, ChannelWeek, Report, Slot, render

PAGE_SIZE = 1000
MAX_DAYS = 31
_LIVE = {"ASSIGNED", "SCHEDULED", "PUBLISHING", "PUBLISHED"}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Registers the `report` subcommand."""
    report = sub.add_parser(
        "report",
        help="write the plan as one self-contained HTML page (calendar grids and charts)",
        description="Write an HTML page with every channel's posting slots over the days asked "
        "for (what holds each slot, its state and score; free slots, blackouts and outages "
        "shaded), the distributions by state and the upload success rate per channel and day. "
        "The page needs no network to be viewed.",
    )
    connect.add_arguments(report)
    report.add_argument("--output", default="vdist-report.html", help="file to write")
    report.add_argument(
        "--start",
        type=_day,
        help="first day, YYYY-MM-DD (default: today, UTC)",
    )
    report.add_argument(
        "--days", type=int, default=7, help=f"how many days, 1..{MAX_DAYS} (default: 7)"
    )
    connect.add_channel_argument(report)
    report.add_argument(
        "--run",
        default="",
        dest="run_id",
        metavar="RUN_ID",
        help="highlight the distributions of this AutoDistribute run, or for a proposal (a "
        "dry run) what it would add, move and drop (default: none)",
    )
    report.set_defaults(run=run_report)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def run_report(args: argparse.Namespace) -> int:
    """Reads the plan from the server and writes the page; prints where it went."""
    if not 1 <= args.days <= MAX_DAYS:
        raise UsageError(f"--days: {args.days} is not between 1 and {MAX_DAYS}")
    start = args.start or datetime.now(UTC).date()
    days = [start + timedelta(days=i) for i in range(args.days)]
    with connect.open_channel(args) as channel:
        connect.check_reachable(channel, args, patient=False)
        stub = svc_grpc.DistributionServiceStub(channel)
        channels = _channels(stub, args.channels)
        distributions = list(_distributions(stub, args.channels))
        changes = _proposed_changes(stub, args.run_id) if args.run_id else []
    page = render(build(channels, distributions, days, args.run_id, changes))
    Path(args.output).write_text(page, encoding="utf-8")
    print(f"wrote {args.output}: {len(channels)} channels, {len(days)} days")
    return 0


def build(
    channels: Sequence[pb.Channel],
    distributions: Sequence[pb.Distribution],
    days: list[date],
    run_id: str = "",
    changes: Sequence[svc.PlanChange] = (),
) -> Report:
    """The report's values from API messages (pure; tests call it directly). `changes`, a
    proposal's, are drawn over the current plan."""
    by_channel: defaultdict[str, list[pb.Distribution]] = defaultdict(list)
    states: Counter[str] = Counter()
    outcomes: defaultdict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
    zones = {c.id: c.timezone for c in channels}
    for dist in distributions:
        state = _short(pb.DistributionState, dist.state, "DISTRIBUTION_STATE_")
        states[state] += 1
        by_channel[dist.channel_id].append(dist)
        if state in ("PUBLISHED", "FAILED") and dist.channel_id in zones:
            day = calendar.local_day(dist.scheduled_at.ToDatetime(UTC), zones[dist.channel_id])
            published, failed = outcomes[dist.channel_id].get(day, (0, 0))
            outcomes[dist.channel_id][day] = (
                (published + 1, failed) if state == "PUBLISHED" else (published, failed + 1)
            )
    changed: defaultdict[str, list[svc.PlanChange]] = defaultdict(list)
    for change in changes:
        changed[change.channel_id].append(change)
    weeks = [_week(c, by_channel[c.id], days, run_id, changed[c.id]) for c in channels]
    return Report(
        title="vdist plan",
        generated=datetime.now(UTC),
        days=days,
        channels=weeks,
        states=states,
        outcomes=dict(outcomes),
        highlight_label=(f"proposal {run_id}" if changes else f"run {run_id}") if run_id else "",
    )


def _week(
    channel: pb.Channel,
    distributions: list[pb.Distribution],
    days: list[date],
    run_id: str,
    changes: Sequence[svc.PlanChange] = (),
) -> ChannelWeek:
    tz = calendar.zone(channel.timezone)
    start = datetime.combine(days[0], time(), tz).astimezone(UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), tz).astimezone(UTC)
    schedule = _schedule(channel.schedule)
    declared = calendar.slot_times(
        d.PostingSchedule(schedule.slots, schedule.max_posts_per_day), channel.timezone, start, end
    )
    bookings: dict[datetime, Booking] = {}
    for dist in distributions:
        at = dist.scheduled_at.ToDatetime(UTC)
        state = _short(pb.DistributionState, dist.state, "DISTRIBUTION_STATE_")
        if start <= at < end and state in _LIVE | {"FAILED"} and at not in bookings:
            bookings[at] = Booking(
                distribution_id=dist.id,
                video_id=dist.video_id,
                state=state,
                method=_short(pb.DistributionMethod, dist.method, "DISTRIBUTION_METHOD_"),
                score=dist.score,
                highlighted=bool(run_id) and dist.run_id == run_id,
            )
    _overlay(bookings, changes, start, end)
    blocked = _blocker(channel, schedule.blackouts)
    on_calendar = set(declared)
    slots = [
        Slot(
            at=at,
            day=at.astimezone(tz).date(),
            local_time=at.astimezone(tz).strftime("%H:%M"),
            booking=bookings.get(at),
            blocked=blocked(at),
            on_calendar=at in on_calendar,
        )
        for at in sorted(on_calendar | set(bookings))
    ]
    return ChannelWeek(channel.id, channel.display_name, channel.platform, channel.timezone, slots)


_LEAVES = {svc.PLAN_CHANGE_KIND_DROPPED: "dropped", svc.PLAN_CHANGE_KIND_MOVED: "moved-out"}


def _overlay(
    bookings: dict[datetime, Booking],
    changes: Sequence[svc.PlanChange],
    start: datetime,
    end: datetime,
) -> None:
    """Marks the cells a proposal changes: what it drops or moves away, then where it puts
    what it adds or moves (over a free slot, or over one whose holder leaves)."""
    for c in changes:
        if c.kind in _LEAVES and c.HasField("from_time"):
            at = c.from_time.ToDatetime(UTC)
            held = bookings.get(at)
            if held is not None and held.distribution_id == c.distribution_id:
                bookings[at] = replace(held, highlighted=True, change=_LEAVES[c.kind])
    for c in changes:
        if c.kind != svc.PLAN_CHANGE_KIND_DROPPED and c.HasField("to_time"):
            at = c.to_time.ToDatetime(UTC)
            held = bookings.get(at)
            if start <= at < end and (held is None or held.change in _LEAVES.values()):
                kind = "added" if c.kind == svc.PLAN_CHANGE_KIND_ADDED else "moved-in"
                bookings[at] = Booking(
                    c.distribution_id, c.video_id, "SCHEDULED", "AUTO", c.score, True, kind
                )


def _proposed_changes(stub: Any, run_id: str) -> list[svc.PlanChange]:
    """A proposal's changes, every page; none for a run written directly (its distributions
    carry its id and are highlighted as such)."""
    if stub.GetRun(svc.GetRunRequest(run_id=run_id)).state != svc.RUN_STATE_PROPOSED:
        return []

    def page(token: str) -> tuple[list[Any], str]:
        r = stub.ListRunChanges(
            svc.ListRunChangesRequest(run_id=run_id, page_size=PAGE_SIZE, page_token=token)
        )
        return list(r.changes), r.next_page_token

    return list(_pages(page))


def _blocker(channel: pb.Channel, blackouts: Sequence[d.TimeWindow]) -> Callable[[datetime], str]:
    """Why a slot at `at` is shaded: inactive channel, outage, blackout, or ""."""
    until = (
        channel.unavailable_until.ToDatetime(UTC) if channel.HasField("unavailable_until") else None
    )

    def blocked(at: datetime) -> str:
        if not channel.active:
            return "inactive"
        if not channel.available and (until is None or at < until):
            return "outage"
        if any(w.start <= at < w.end for w in blackouts):
            return "blackout"
        return ""

    return blocked


def _schedule(message: pb.PostingSchedule) -> d.PostingSchedule:
    return d.PostingSchedule(
        slots=tuple(
            d.WeeklySlot(tuple(int(day) for day in s.days), calendar.parse_local_time(s.local_time))
            for s in message.slots
        ),
        max_posts_per_day=message.max_posts_per_day,
        blackouts=tuple(
            d.TimeWindow(w.start_time.ToDatetime(UTC), w.end_time.ToDatetime(UTC))
            for w in message.blackouts
        ),
    )


def _short(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


def _pages(fetch: Callable[[str], tuple[list[Any], str]]) -> Iterator[Any]:
    token = ""
    while True:
        items, token = fetch(token)
        yield from items
        if not token:
            return


def _channels(stub: Any, wanted: Sequence[str]) -> list[pb.Channel]:
    if wanted:
        return [stub.GetChannel(svc.GetChannelRequest(id=cid)) for cid in wanted]

    def page(token: str) -> tuple[list[Any], str]:
        r = stub.ListChannels(svc.ListChannelsRequest(page_size=PAGE_SIZE, page_token=token))
        return list(r.channels), r.next_page_token

    return sorted(_pages(page), key=lambda c: c.id)


def _distributions(stub: Any, channel_ids: Sequence[str]) -> Iterator[pb.Distribution]:
    for cid in channel_ids or [""]:

        def page(token: str, cid: str = cid) -> tuple[list[Any], str]:
            r = stub.ListDistributions(
                svc.ListDistributionsRequest(channel_id=cid, page_size=PAGE_SIZE, page_token=token)
            )
            return list(r.distributions), r.next_page_token

        yield from _pages(page)
