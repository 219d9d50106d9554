"""AutoDistribute over gRPC on both databases: plans, proofs, reasons, atomicity, races."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error

FILTER = svc.AUTO_DISTRIBUTE_MODE_FILTER
SCHEDULE = svc.AUTO_DISTRIBUTE_MODE_SCHEDULE


def horizon(days=2):
    start = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return dt_to_ts(start), dt_to_ts(start + timedelta(days=days))


def run(stub, channel_ids, video_ids, **kw):
    start, end = horizon(kw.pop("days", 2))
    return stub.AutoDistribute(
        svc.AutoDistributeRequest(
            mode=kw.pop("mode", FILTER),
            channel_ids=channel_ids,
            video_ids=video_ids,
            horizon_start=start,
            horizon_end=end,
            time_limit_seconds=10,
            **kw,
        )
    )


def utc_daily(cid, *times, **kw):
    return channel(cid, times=times or ("09:00",), timezone="UTC", **kw)


def test_plan_is_optimal_persisted_and_audited(server, uid):
    wants_views = pb.ContentFilters(min_views=1000)
    cs = [utc_daily(f"a{i}-{uid}", "09:00", "15:00", filters=wants_views) for i in range(3)]
    vs = [video(f"av{j}-{uid}", views=1000 * 2**j) for j in range(16)]
    setup(server.stub, cs, vs)
    res = run(server.stub, [c.id for c in cs], [v.id for v in vs])
    assert res.solver_status == svc.SOLVER_STATUS_OPTIMAL
    assert res.objective == res.best_bound and res.gap == 0
    assert res.slot_count == 12 and res.assignment_count == 12 and res.skipped_count == 4
    assert res.objective == sum(a.score for a in res.assignments)
    assert (
        Counter((a.channel_id, a.scheduled_at.seconds) for a in res.assignments).most_common(1)[0][
            1
        ]
        == 1
    )
    assert all(
        a.method == pb.DISTRIBUTION_METHOD_AUTO_FILTER and a.run_id == res.run_id
        for a in res.assignments
    )
    stored = server.stub.ListDistributions(
        svc.ListDistributionsRequest(run_id=res.run_id, page_size=100)
    ).distributions
    assert sorted(d.id for d in stored) == sorted(a.id for a in res.assignments)
    decisions = server.stub.ListDecisions(
        svc.ListDecisionsRequest(run_id=res.run_id, page_size=100)
    ).decisions
    kinds = Counter(d.kind for d in decisions)
    assert kinds == {pb.DECISION_KIND_ASSIGNED: 12, pb.DECISION_KIND_SKIPPED: 4}
    assert {s.code for s in res.skipped} == {"OUTSCORED"}
    assert all(
        d.details["score"]["total"] > 0 for d in decisions if d.kind == pb.DECISION_KIND_ASSIGNED
    )
    got = server.stub.GetRun(svc.GetRunRequest(run_id=res.run_id))
    assert (got.objective, got.assignment_count, got.parameters.mode) == (res.objective, 12, FILTER)
    assert res.run_id in [r.run_id for r in server.stub.ListRuns(svc.ListRunsRequest()).runs]
    # The 12 most viewed win: a doubling of views over min_views adds to the score (max 10).
    assert {a.video_id for a in res.assignments} == {v.id for v in vs[4:]}


def test_dry_run_writes_only_its_proposal(server, uid):
    cs, vs = [utc_daily(f"d-{uid}")], [video(f"dv-{uid}")]
    setup(server.stub, cs, vs)
    res = run(server.stub, [cs[0].id], [vs[0].id], dry_run=True)
    assert res.dry_run and res.assignment_count == 2 - 1  # one video, max one channel
    assert not server.stub.ListDistributions(
        svc.ListDistributionsRequest(channel_id=cs[0].id)
    ).distributions
    assert not server.stub.ListDecisions(svc.ListDecisionsRequest(run_id=res.run_id)).decisions
    stored = server.stub.GetRun(svc.GetRunRequest(run_id=res.run_id))
    assert stored.state == svc.RUN_STATE_PROPOSED and stored.assignment_count == 1


def test_request_id_replays_and_existing_plans_are_pins(server, uid):
    cs, vs = [utc_daily(f"r-{uid}")], [video(f"rv{j}-{uid}") for j in range(3)]
    setup(server.stub, cs, vs)
    first = run(server.stub, [cs[0].id], [v.id for v in vs], request_id=f"nightly-{uid}")
    assert run(server.stub, [cs[0].id], [v.id for v in vs], request_id=f"nightly-{uid}") == first
    second = run(server.stub, [cs[0].id], [v.id for v in vs])
    assert second.assignment_count == 0, "both slots are held by the first plan"
    assert {s.code for s in second.skipped} == {"DUPLICATE", "NO_FREE_SLOT"} or {
        s.code for s in second.skipped
    } <= {"DUPLICATE", "NO_FREE_SLOT", "AT_CHANNEL_LIMIT"}


def test_every_left_out_video_has_its_reason(server, uid):
    strict = utc_daily(f"s-{uid}", filters=pb.ContentFilters(required_tags=["news"]))
    down = utc_daily(f"down-{uid}")
    setup(
        server.stub,
        [strict, down],
        [
            video(f"news-{uid}", tags=["news"]),
            video(f"cat-{uid}", tags=["cats"]),
            video(f"draft-{uid}", state=pb.VIDEO_STATE_NOT_READY, tags=["news"]),
        ],
    )
    server.stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(channel_id=down.id, available=False, reason="ban")
    )
    res = run(server.stub, [strict.id, down.id], [f"news-{uid}", f"cat-{uid}", f"draft-{uid}"])
    codes = {s.video_id: s.code for s in res.skipped}
    assert codes == {f"cat-{uid}": "CHANNEL_UNAVAILABLE", f"draft-{uid}": "VIDEO_NOT_READY"}
    assert [a.video_id for a in res.assignments] == [f"news-{uid}"]


def test_schedule_mode_fills_more_slots_than_filter_mode(server, uid):
    star = utc_daily(f"star-{uid}", preferences=pb.Preferences(tag_weights={"star": 50}))
    other = utc_daily(f"other-{uid}", filters=pb.ContentFilters(required_tags=["star"]))
    setup(
        server.stub,
        [star, other],
        [video(f"A-{uid}", tags=["star"]), video(f"B-{uid}", tags=["plain"])],
    )
    ids = [star.id, other.id]
    videos = [f"A-{uid}", f"B-{uid}"]
    # One slot per channel: star 09:00 day 1 only.
    filt = run(server.stub, ids, videos, dry_run=True, days=1)
    sched = run(server.stub, ids, videos, dry_run=True, days=1, mode=SCHEDULE)
    assert filt.assignment_count == 1 and filt.assignments[0].channel_id == star.id
    assert sched.assignment_count == 2 and sched.objective < filt.objective
    assert all(a.method == pb.DISTRIBUTION_METHOD_AUTO_SCHEDULE for a in sched.assignments)


def test_min_hours_between_spaces_the_same_video(server, uid):
    cs = [utc_daily(f"m{i}-{uid}", "09:00", "10:00") for i in range(2)]
    setup(server.stub, cs, [video(f"mv-{uid}")])
    res = run(
        server.stub,
        [c.id for c in cs],
        [f"mv-{uid}"],
        max_channels_per_video=2,
        min_hours_between=12,
        dry_run=True,
    )
    times = sorted(a.scheduled_at.seconds for a in res.assignments)
    assert len(times) == 2 and times[1] - times[0] >= 12 * 3600


def test_concurrent_runs_never_double_book(server, uid):
    cs = [utc_daily(f"c{i}-{uid}", "09:00", "12:00") for i in range(2)]
    vs = [video(f"cv{j}-{uid}") for j in range(12)]
    setup(server.stub, cs, vs)
    barrier = threading.Barrier(3)
    outcomes = []

    def go():
        barrier.wait()
        try:
            outcomes.append(
                run(server.stub, [c.id for c in cs], [v.id for v in vs]).assignment_count
            )
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.ABORTED
            outcomes.append("aborted")

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    live = [
        d
        for c in cs
        for d in server.stub.ListDistributions(
            svc.ListDistributionsRequest(channel_id=c.id, page_size=100)
        ).distributions
    ]
    assert len(live) == 8, outcomes
    assert len({(d.channel_id, d.scheduled_at.seconds) for d in live}) == 8
    assert len({d.video_id for d in live}) == 8


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mode": 0}, "mode"),
        ({"max_channels_per_video": -1}, "max_channels_per_video"),
        ({"time_limit_seconds": 10_000}, "time_limit_seconds"),
        ({"min_score": -5}, "min_score"),
        ({"channel_ids": ["bad id"]}, "channel_ids[0]"),
    ],
)
def test_bad_requests_name_the_field(server, changes, field):
    request = svc.AutoDistributeRequest(mode=FILTER)
    for key, value in changes.items():
        if isinstance(value, list):
            getattr(request, key).extend(value)
        else:
            setattr(request, key, value)
    assert (
        field
        in expect_error(
            grpc.StatusCode.INVALID_ARGUMENT, server.stub.AutoDistribute, request
        ).fields
    )


def test_horizon_end_before_start_is_invalid(server):
    start, end = horizon()
    err = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        server.stub.AutoDistribute,
        svc.AutoDistributeRequest(mode=FILTER, horizon_start=end, horizon_end=start),
    )
    assert "horizon_end" in err.fields


def test_unknown_channel_is_not_found(server, uid):
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        server.stub.AutoDistribute,
        svc.AutoDistributeRequest(mode=FILTER, channel_ids=[f"ghost-{uid}"]),
    )


def test_per_channel_summary(server, uid):
    cs = [utc_daily(f"sum{i}-{uid}") for i in range(2)]
    setup(server.stub, cs, [video(f"sv{j}-{uid}") for j in range(3)])
    res = run(server.stub, [c.id for c in cs], [f"sv{j}-{uid}" for j in range(3)], dry_run=True)
    assert [(c.channel_id, c.free_slots, c.filled) for c in res.channels] == [
        (cs[0].id, 2, 2) if res.channels[0].filled == 2 else (cs[0].id, 2, 1),
        (cs[1].id, 2, 3 - res.channels[0].filled),
    ]
    assert sum(c.total_score for c in res.channels) == res.objective


def test_vdist_plan_prints_a_per_channel_table(server, uid, capsys, tmp_path):
    from server.cli import main

    cs = [utc_daily(f"plan{i}-{uid}") for i in range(2)]
    setup(server.stub, cs, [video(f"pv{j}-{uid}") for j in range(3)])
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0).isoformat()
    argv = ["plan", "--target", server.address, "--start", start, "--days", "2"]
    for c in cs:
        argv += ["--channel", c.id]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "OPTIMAL" in out and "gap 0.0000%" in out and "dry run" in out
    for c in cs:
        assert c.id in out
    assert not server.stub.ListDistributions(
        svc.ListDistributionsRequest(channel_id=cs[0].id)
    ).distributions
    assert main([*argv, "--apply"]) == 0
    assert "written" in capsys.readouterr().out
    assert server.stub.ListDistributions(
        svc.ListDistributionsRequest(channel_id=cs[0].id)
    ).distributions


def test_large_plan_is_truncated_and_paged_by_run_id(server, uid):
    times = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 20, 40))  # 72 a day
    c = utc_daily(f"big-{uid}", *times)
    vs = [video(f"bv{j}-{uid}") for j in range(1100)]
    setup(server.stub, [c], vs[:1000])
    setup(server.stub, [], vs[1000:])
    res = run(server.stub, [c.id], [v.id for v in vs], days=16)
    assert res.assignment_count == 1100 and res.truncated
    assert len(res.assignments) == 1000
    seen, token = set(), ""
    while True:
        page = server.stub.ListDistributions(
            svc.ListDistributionsRequest(run_id=res.run_id, page_size=400, page_token=token)
        )
        seen |= {d.id for d in page.distributions}
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == 1100


def test_nothing_to_plan_is_an_empty_optimal_plan(server, uid):
    c = utc_daily(f"empty-{uid}")
    setup(server.stub, [c], [video(f"draft-{uid}", state=pb.VIDEO_STATE_NOT_READY)])
    res = run(server.stub, [c.id], [f"draft-{uid}"])
    assert res.assignment_count == 0 and res.objective == 0 and res.gap == 0
    assert [s.code for s in res.skipped] == ["VIDEO_NOT_READY"]
