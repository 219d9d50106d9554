"""Re-planning: a released plan re-solved keeps itself; a change happens only when it pays for
its penalty; the reported objective and bound are net of the penalties, and certified."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.checker import check_plan
from allocator.domain import Channel, PostingSchedule, Preferences, Video, WeeklySlot
from allocator.planning import Instance, Scope, build_instance, planned_pairs
from allocator.problem import Mode, Plan, SolverStatus
from allocator.release import Released
from allocator.replan import ADDED, DROPPED, MOVED, keep_in_place, net_of_penalty, plan_changes
from allocator.solve import solve

START = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday
TAGS = ("a", "b", "c", "d")


def _channel(cid: str, hours: tuple[int, ...], weights: tuple[float, ...]) -> Channel:
    slots = tuple(WeeklySlot(days=tuple(range(1, 8)), local_time=time(h)) for h in hours)
    return Channel(
        id=cid,
        schedule=PostingSchedule(slots=slots),
        preferences=Preferences(tag_weights=tuple(zip(TAGS, weights, strict=False))),
    )


def _scope(
    videos: list[Video],
    channels: list[Channel],
    released: list[Released] = (),  # type: ignore[assignment]
    penalty: int = 1,
    mode: Mode = Mode.FILTER,
    unavailable: dict[str, datetime] | None = None,
    uses: tuple[int, int] = (1, 0),
) -> Scope:
    until = [(unavailable or {}).get(c.id) for c in channels]
    return Scope(
        mode=mode,
        videos=videos,
        channels=channels,
        channel_unavailable_until=until,
        channel_takes_work=[True] * len(channels),
        live=[],
        start=START,
        end=START + timedelta(days=2),
        max_channels_per_video=uses[0],
        min_score=0,
        min_hours_between=uses[1],
        time_limit_seconds=10,
        released=list(released),
        change_penalty=penalty,
    )


def _solve(instance: Instance) -> Plan:
    plan = solve(instance.problem)
    check_plan(instance.problem, plan)
    return net_of_penalty(instance, keep_in_place(instance, plan))


def _released(instance: Instance, plan: Plan) -> list[Released]:
    return [
        Released(f"d-{p.video.id}-{p.channel.id}", p.video.id, p.channel.id, p.slot_time, p.score)
        for p in planned_pairs(instance, plan)
    ]


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Video], list[Channel]]:
    n_channels = draw(st.integers(1, 3))
    channels = [
        _channel(
            f"c{j}",
            tuple(sorted(draw(st.sets(st.integers(6, 22), min_size=1, max_size=3)))),
            tuple(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=4, max_size=4))),
        )
        for j in range(n_channels)
    ]
    n_videos = draw(st.integers(1, 14))
    videos = [
        Video(
            id=f"v{i:02d}",
            source_url=f"https://x.test/{i}",
            tags=tuple(draw(st.sets(st.sampled_from(TAGS), max_size=3))),
        )
        for i in range(n_videos)
    ]
    return videos, channels


#: (max_channels_per_video, min_hours_between): one use, two uses, two uses spaced (timed).
USES = [(1, 0), (2, 0), (2, 6)]


@settings(max_examples=60, deadline=None)
@given(instances(), st.integers(1, 5000), st.sampled_from(list(Mode)), st.sampled_from(USES))
def test_replanning_an_optimal_plan_changes_nothing(case, penalty, mode, uses):
    videos, channels = case
    first = build_instance(_scope(videos, channels, mode=mode, uses=uses))
    plan = _solve(first)
    assert plan.status is SolverStatus.OPTIMAL
    released = _released(first, plan)
    again = build_instance(_scope(videos, channels, released, penalty, mode, uses=uses))
    replanned = _solve(again)
    assert plan_changes(again, replanned) == []
    assert replanned.objective == plan.objective == replanned.best_bound


@settings(max_examples=40, deadline=None)
@given(instances(), st.integers(1, 30_000))
def test_a_new_video_changes_only_what_pays_for_its_penalty(case, penalty):
    videos, channels = case
    first = build_instance(_scope(videos, channels))
    plan = _solve(first)
    released = _released(first, plan)
    star = Video(id="new", source_url="https://x.test/new", tags=TAGS)
    again = build_instance(_scope([*videos, star], channels, released, penalty))
    replanned = _solve(again)
    changes = plan_changes(again, replanned)
    left = [c for c in changes if c.kind == DROPPED]
    # Keeping the old plan and adding nothing is always possible: the net objective is at
    # least the old one, and every drop is paid for by more score than its penalty.
    assert replanned.objective >= plan.objective
    assert replanned.objective == int(replanned.score.sum()) - penalty * len(left)
    assert replanned.status is SolverStatus.OPTIMAL
    assert replanned.best_bound == replanned.objective
    assert all(c.kind in (ADDED, DROPPED) for c in changes)
    assert sum(c.kind == ADDED for c in changes) <= 1 + len(left)


def test_an_outage_moves_the_distribution_to_a_later_slot_and_says_why():
    channel = _channel("c", (9, 18), (1.0,))
    video = Video(id="v", source_url="https://x.test/v", tags=("a",))
    first = build_instance(_scope([video], [channel]))
    plan = _solve(first)
    (held,) = _released(first, plan)
    assert held.scheduled_at == START + timedelta(hours=9)
    back = START + timedelta(hours=12)
    again = build_instance(_scope([video], [channel], [held], 100, unavailable={"c": back}))
    (change,) = plan_changes(again, _solve(again))
    assert (change.kind, change.from_time, change.to_time) == (
        MOVED,
        held.scheduled_at,
        START + timedelta(hours=18),
    )
    assert change.reason == "moved: channel c unavailable until 2030-01-07T12:00:00Z"


def test_a_better_video_takes_a_full_channels_slot_only_when_it_beats_the_penalty():
    channel = _channel("c", (9,), (0.0, 5.0))
    plain = [Video(id=f"p{i}", source_url=f"https://x.test/p{i}") for i in range(2)]
    first = build_instance(_scope(plain, [channel]))
    released = _released(first, _solve(first))
    star = Video(id="star", source_url="https://x.test/star", tags=("b",))  # +5,000
    for penalty, dropped in ((4_999, 1), (5_000, 0), (9_000, 0)):
        again = build_instance(_scope([*plain, star], [channel], released, penalty))
        changes = plan_changes(again, _solve(again))
        assert sum(c.kind == DROPPED for c in changes) == dropped, penalty
        if dropped:
            (drop,) = (c for c in changes if c.kind == DROPPED)
            assert drop.reason == "+1 score: its slot now holds video star (15000)"


def test_a_video_with_a_tight_window_changes_only_the_kept_pair_in_its_way():
    channel = _channel("c", (9,), (0.0, 0.0, 0.0, 5.0))
    plain = [Video(id=f"p{i}", source_url=f"https://x.test/p{i}", tags=("a",)) for i in range(2)]
    first = build_instance(_scope(plain, [channel]))
    released = _released(first, _solve(first))
    assert [r.scheduled_at.day for r in sorted(released, key=lambda r: r.scheduled_at)] == [7, 8]
    # Worth 15,000 and only on the first day: it needs the first day's slot.
    tight = Video(
        id="tight",
        source_url="https://x.test/tight",
        tags=("d",),
        available_from=START,
        expires_at=START + timedelta(days=1),
    )
    again = build_instance(_scope([*plain, tight], [channel], released, penalty=1))
    changes = plan_changes(again, _solve(again))
    by_kind = {(c.kind, c.video_id) for c in changes}
    first_day = next(r for r in released if r.scheduled_at.day == 7)
    # One of the two must go: the one in its way goes, rather than the other one going and
    # this one moving into the other's slot (the same objective, one change more).
    assert by_kind == {(ADDED, "tight"), (DROPPED, first_day.video_id)}
