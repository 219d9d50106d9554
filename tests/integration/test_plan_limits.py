"""AutoDistribute within platform limits, over the real server on SQLite and PostgreSQL:
quota pools shared across channels and zones (counting what other channels already hold),
a pool the platform reported full, and max_channels_per_platform with existing distributions."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import grpc
import pytest

from allocator.quota_windows import calendar_window
from distribution.v1 import distribution_service_pb2 as svc
from server.api.converters import ts_to_dt
from tests.integration.test_autodistribute import FILTER, horizon, run
from tests.integration.test_quotas import LA, ROLLING, assign, hourly, pool
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error


def _per_la_day(assignments, channel_ids: set[str]) -> Counter[datetime]:
    return Counter(
        calendar_window(ts_to_dt(a.scheduled_at), LA)[0]
        for a in assignments
        if a.channel_id in channel_ids
    )


def test_a_shared_calendar_pool_caps_every_local_day_of_the_plan(server, uid) -> None:
    stub = server.stub
    pool(stub, f"yt-{uid}", 5)
    members = [
        hourly(f"p{i}-{uid}", [f"yt-{uid}"], timezone=zone)
        for i, zone in enumerate(("Europe/Berlin", "Asia/Tokyo"))
    ]
    free = channel(f"f-{uid}", times=("09:00",), timezone="UTC")
    setup(stub, [*members, free], [video(f"v{j}-{uid}", views=100 * (j + 1)) for j in range(40)])
    # A channel outside the run shares the pool: what it holds counts against the plan.
    outside = hourly(f"o-{uid}", [f"yt-{uid}"], timezone="UTC")
    setup(stub, [outside], [])
    start, _ = horizon(2)
    first = ts_to_dt(start) + timedelta(hours=20)
    held = assign(stub, f"held-{uid}", outside.id, at=first, force=True)
    assert held.distribution.id, held
    ids = [c.id for c in (*members, free)]
    res = run(stub, ids, [f"v{j}-{uid}" for j in range(40)], max_channels_per_video=3)
    assert res.solver_status == svc.SOLVER_STATUS_OPTIMAL and res.gap == 0
    per_day = _per_la_day(res.assignments, {c.id for c in members})
    held_day = calendar_window(first, LA)[0]
    assert all(n + (day == held_day) <= 5 for day, n in per_day.items()), per_day
    # Hourly members have far more slots than the pool: it binds on every full local day.
    assert sum(per_day.values()) >= 5
    # The unpooled channel fills all its slots.
    assert sum(a.channel_id == free.id for a in res.assignments) == 2
    quota = [(q.pool_id, ts_to_dt(q.window_start), q.used, q.limit) for q in res.quota]
    assert quota and all(p == f"yt-{uid}" and used <= limit == 5 for p, _, used, limit in quota)
    for _, window_start, used, _ in quota:
        assert used == per_day.get(window_start, 0) + (window_start == held_day)


def test_rolling_pools_and_a_pool_reported_full_are_kept(server, uid) -> None:
    stub = server.stub
    pool(stub, f"ig-{uid}", 3, ROLLING, "")
    ig = hourly(f"ig-{uid}", [f"ig-{uid}"], timezone="UTC")
    setup(stub, [ig], [video(f"w{j}-{uid}") for j in range(20)])
    res = run(stub, [ig.id], [f"w{j}-{uid}" for j in range(20)])
    times = sorted(ts_to_dt(a.scheduled_at) for a in res.assignments)
    assert times and all(
        sum(t <= u < t + timedelta(hours=24) for u in times) <= 3 for t in times
    ), times
    assert res.best_bound >= res.objective


def test_max_channels_per_platform_counts_existing_distributions(server, uid) -> None:
    stub = server.stub
    youtube = [channel(f"y{i}-{uid}", timezone="UTC", platform="youtube") for i in range(3)]
    tiktok = [channel(f"t{i}-{uid}", timezone="UTC", platform="tiktok") for i in range(2)]
    videos = [video(f"m{j}-{uid}", views=10 * (j + 1)) for j in range(4)]
    setup(stub, [*youtube, *tiktok], videos)
    held = assign(stub, f"m0-{uid}", youtube[0].id)
    assert held.distribution.id, held
    ids = [c.id for c in (*youtube[1:], *tiktok)]
    res = run(
        stub,
        ids,
        [v.id for v in videos],
        max_channels_per_video=5,
        max_channels_per_platform=1,
    )
    assert res.solver_status == svc.SOLVER_STATUS_OPTIMAL
    platform = {c.id: c.platform for c in (*youtube, *tiktok)}
    per = Counter((a.video_id, platform[a.channel_id]) for a in res.assignments)
    assert max(per.values()) == 1
    # The video already live on a YouTube channel gets none more there.
    assert per[(f"m0-{uid}", "youtube")] == 0
    assert per[(f"m1-{uid}", "youtube")] == 1


@pytest.mark.parametrize("value", [-1, 1001])
def test_a_bad_platform_cap_names_the_field(server, value) -> None:
    start, end = horizon(1)
    failure = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        server.stub.AutoDistribute,
        svc.AutoDistributeRequest(
            mode=FILTER, horizon_start=start, horizon_end=end, max_channels_per_platform=value
        ),
    )
    assert failure.fields == ["max_channels_per_platform"]


def test_apply_run_aborts_when_another_channel_took_the_pools_room(server, uid) -> None:
    stub = server.stub
    pool(stub, f"ap-{uid}", 4)
    planned = hourly(f"ap-{uid}", [f"ap-{uid}"], timezone="UTC")
    other = hourly(f"aq-{uid}", [f"ap-{uid}"], timezone="UTC")
    setup(stub, [planned, other], [video(f"x{j}-{uid}") for j in range(10)])
    proposal = run(stub, [planned.id], [f"x{j}-{uid}" for j in range(10)], dry_run=True)
    assert proposal.state == svc.RUN_STATE_PROPOSED and proposal.quota
    # Another channel of the pool takes a place after the dry run read the pool.
    assert assign(stub, f"late-{uid}", other.id).distribution.id
    failure = expect_error(
        grpc.StatusCode.ABORTED, stub.ApplyRun, svc.ApplyRunRequest(run_id=proposal.run_id)
    )
    assert "quota pool" in failure.message and other.id in failure.message
    # Without the intruder, the same proposal would have been written: a new dry run is.
    again = run(stub, [planned.id], [f"x{j}-{uid}" for j in range(10)], dry_run=True)
    applied = stub.ApplyRun(svc.ApplyRunRequest(run_id=again.run_id))
    assert applied.state == svc.RUN_STATE_APPLIED
    assert [(q.window_start, q.used) for q in applied.quota] and all(
        q.used <= q.limit for q in applied.quota
    )


def test_suggestions_pass_over_a_full_pool_window(server, uid) -> None:
    stub = server.stub
    pool(stub, f"sg-{uid}", 1, ROLLING, "")
    member = hourly(f"sg-{uid}", [f"sg-{uid}"], timezone="UTC")
    setup(stub, [member], [video(f"sv-{uid}")])
    first = assign(stub, f"first-{uid}", member.id)
    taken = ts_to_dt(first.distribution.scheduled_at)
    offered = stub.SuggestPlacements(
        svc.SuggestPlacementsRequest(video_id=f"sv-{uid}", channel_ids=[member.id])
    ).placements[0]
    # One a rolling day: the first slot the pool allows is 24 hours after the taken one.
    assert ts_to_dt(offered.scheduled_at) >= taken + timedelta(hours=24)
