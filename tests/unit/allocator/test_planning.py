"""The domain -> problem translation: same-source groups, pins, and reading a plan back."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from allocator.domain import Channel, PostingSchedule, Video, WeeklySlot
from allocator.planning import LivePair, Scope, build_instance, planned_pairs, skipped_videos
from allocator.problem import Mode
from allocator.solve import solve

START = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday
DAILY_9 = PostingSchedule(slots=(WeeklySlot(days=tuple(range(1, 8)), local_time=time(9)),))


def _scope(videos: list[Video], live: list[LivePair] = ()) -> Scope:  # type: ignore[assignment]
    return Scope(
        mode=Mode.FILTER,
        videos=videos,
        channels=[Channel(id="c", schedule=DAILY_9)],
        channel_unavailable_until=[None],
        channel_takes_work=[True],
        live=list(live),
        start=START,
        end=START + timedelta(days=3),
        max_channels_per_video=1,
        min_score=0,
        min_hours_between=0,
        time_limit_seconds=10,
    )


def test_videos_without_a_source_url_are_no_duplicates_of_each_other():
    videos = [Video(id=f"v{i}", source_url="") for i in range(3)]
    instance = build_instance(_scope(videos))
    assert len(set(instance.problem.video_source.tolist())) == 3
    plan = solve(instance.problem)
    assert len(plan.video) == 3
    assert skipped_videos(instance, plan) == []


def test_videos_sharing_a_source_url_are_one_group():
    videos = [
        Video(id="a", source_url="https://x.test/1"),
        Video(id="b", source_url="https://x.test/1"),
    ]
    instance = build_instance(_scope(videos))
    groups = instance.problem.video_source.tolist()
    assert groups[0] == groups[1]
    plan = solve(instance.problem)
    assert len(plan.video) == 1
    (skip,) = skipped_videos(instance, plan)
    assert skip[1] == "OUTSCORED"


def test_a_live_source_url_makes_its_reupload_a_duplicate_but_an_empty_one_does_not():
    videos = [Video(id="new", source_url="https://x.test/1"), Video(id="bare", source_url="")]
    live = [
        LivePair("old", "c", "https://x.test/1", START + timedelta(days=5)),
        LivePair("other", "c", "", START + timedelta(days=6)),
    ]
    instance = build_instance(_scope(videos, live))
    plan = solve(instance.problem)
    assert [instance.videos[int(i)].id for i in plan.video] == ["bare"]
    assert skipped_videos(instance, plan) == [
        ("new", "DUPLICATE", "already live (by video or source URL) on its eligible channels")
    ]


def test_planned_pairs_read_the_plan_back_with_slot_and_breakdown():
    instance = build_instance(_scope([Video(id="v", source_url="https://x.test/v")]))
    plan = solve(instance.problem)
    (pair,) = planned_pairs(instance, plan)
    assert (pair.video.id, pair.channel.id) == ("v", "c")
    assert pair.slot_time == START + timedelta(hours=9)
    assert pair.breakdown.total == pair.score == int(plan.score[0])
    assert pair.eligible_channels == 1
