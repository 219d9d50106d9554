"""Steering a plan over the network, on both databases: re-planning twice changes nothing, an
outage moves what it must, a proposal is written exactly by ApplyRun, or refused (ABORTED,
nothing written) when a slot it relies on was taken; superseded and expired proposals."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error
from tests.support.servers import ServerHandle, start_server

ADDED, MOVED, DROPPED = (
    svc.PLAN_CHANGE_KIND_ADDED,
    svc.PLAN_CHANGE_KIND_MOVED,
    svc.PLAN_CHANGE_KIND_DROPPED,
)


def _horizon() -> tuple[datetime, datetime]:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    start = start.replace(microsecond=0)
    return start, start + timedelta(days=3)


def _request(
    channels: list[str], videos: list[str], start: datetime, end: datetime, **fields: object
):
    # Only the test's own videos: the session's database holds other tests' READY videos.
    fields.setdefault("video_ids", videos)
    return svc.AutoDistributeRequest(
        mode=svc.AUTO_DISTRIBUTE_MODE_FILTER,
        channel_ids=channels,
        horizon_start=dt_to_ts(start),
        horizon_end=dt_to_ts(end),
        **fields,
    )


def _on(stub, channels: list[str]) -> list[pb.Distribution]:
    return [
        d
        for cid in channels
        for d in stub.ListDistributions(svc.ListDistributionsRequest(channel_id=cid)).distributions
    ]


def _refused(stub, run_id: str, state: str) -> None:
    """ApplyRun of `run_id` answers FAILED_PRECONDITION naming the run's `state`."""
    error = expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        lambda: stub.ApplyRun(svc.ApplyRunRequest(run_id=run_id)),
    )
    assert state in error.message


def _seed(stub, uid: str, videos: int = 8) -> tuple[list[str], list[str]]:
    ids = [f"st-a-{uid}", f"st-b-{uid}"]
    setup(
        stub,
        [
            channel(ids[0], times=("09:00", "18:00"), timezone="UTC"),
            channel(
                ids[1],
                times=("12:00",),
                timezone="UTC",
                preferences=pb.Preferences(tag_weights={"cooking": 1.5}),
            ),
        ],
        [video(f"st-v{i}-{uid}", tags=["cooking"] if i % 2 else ["travel"]) for i in range(videos)],
    )
    return ids, [f"st-v{i}-{uid}" for i in range(videos)]


def test_replanning_a_plan_twice_changes_nothing_the_second_time(server: ServerHandle, uid: str):
    stub = server.stub
    channels, videos = _seed(stub, uid)
    start, end = _horizon()
    first = stub.AutoDistribute(_request(channels, videos, start, end))
    assert first.state == svc.RUN_STATE_APPLIED
    assert first.change_count == first.assignment_count > 0
    assert {c.kind for c in first.changes} == {ADDED}
    assert {c.distribution_id for c in first.changes} == {a.id for a in first.assignments}
    for _ in range(2):
        again = stub.AutoDistribute(
            _request(channels, videos, start, end, replan=True, change_penalty=50)
        )
        assert again.solver_status == svc.SOLVER_STATUS_OPTIMAL
        assert (again.change_count, list(again.changes), again.assignment_count) == (0, [], 0)
        assert again.objective == first.objective == again.best_bound
    # Nothing moved on the channels: the same distributions are live where they were.
    live = stub.ListDistributions(svc.ListDistributionsRequest(run_id=first.run_id)).distributions
    assert {(d.id, d.scheduled_at.seconds, d.state) for d in live} == {
        (a.id, a.scheduled_at.seconds, pb.DISTRIBUTION_STATE_SCHEDULED) for a in first.assignments
    }


def test_an_outage_moves_or_drops_what_it_must_and_says_why(server: ServerHandle, uid: str):
    stub = server.stub
    channels, videos = _seed(stub, uid, videos=4)
    start, end = _horizon()
    first = stub.AutoDistribute(_request(channels, videos, start, end))
    hit = [a for a in first.assignments if a.channel_id == channels[0]]
    back = start + timedelta(days=1)
    stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(
            channel_id=channels[0], available=False, until=dt_to_ts(back), reason="outage"
        )
    )
    again = stub.AutoDistribute(_request(channels, videos, start, end, replan=True))
    touched = {c.distribution_id: c for c in again.changes if c.kind in (MOVED, DROPPED)}
    early = [a for a in hit if a.scheduled_at.ToDatetime(UTC) < back]
    assert early and set(touched) >= {a.id for a in early}
    for a in early:
        change = touched[a.id]
        assert change.reason.endswith(
            f"channel {channels[0]} unavailable until {back.isoformat().replace('+00:00', 'Z')}"
        )
        if change.kind == MOVED:
            assert change.to_time.ToDatetime(UTC) >= back
            moved = stub.GetDistribution(svc.GetDistributionRequest(id=a.id))
            assert moved.scheduled_at == change.to_time
    kinds = {
        d.kind for d in stub.ListDecisions(svc.ListDecisionsRequest(run_id=again.run_id)).decisions
    }
    assert kinds & {pb.DECISION_KIND_MOVED, pb.DECISION_KIND_DROPPED}


def test_a_proposal_is_applied_exactly_then_no_longer(server: ServerHandle, uid: str):
    stub = server.stub
    channels, videos = _seed(stub, uid)
    start, end = _horizon()
    proposal = stub.AutoDistribute(_request(channels, videos, start, end, dry_run=True))
    assert proposal.state == svc.RUN_STATE_PROPOSED and proposal.dry_run
    assert proposal.changes and all(not c.distribution_id for c in proposal.changes)
    run = stub.GetRun(svc.GetRunRequest(run_id=proposal.run_id))
    assert run.state == svc.RUN_STATE_PROPOSED and run.change_count == proposal.change_count
    assert run.expire_time.ToDatetime(UTC) > datetime.now(UTC) + timedelta(hours=23)
    assert not _on(stub, channels)
    listed = stub.ListRunChanges(svc.ListRunChangesRequest(run_id=proposal.run_id, page_size=3))
    assert len(listed.changes) == 3 and listed.next_page_token
    applied = stub.ApplyRun(svc.ApplyRunRequest(run_id=proposal.run_id, request_id=f"ap-{uid}"))
    assert applied.state == svc.RUN_STATE_APPLIED and applied.run_id == proposal.run_id
    assert applied.plan_digest == proposal.plan_digest
    planned = {(c.video_id, c.channel_id, c.to_time.seconds) for c in proposal.changes}
    written = stub.ListDistributions(svc.ListDistributionsRequest(run_id=proposal.run_id))
    assert {(d.video_id, d.channel_id, d.scheduled_at.seconds) for d in written.distributions} == (
        planned
    )
    # A replay answers the first response; a second apply is refused.
    replay = stub.ApplyRun(svc.ApplyRunRequest(run_id=proposal.run_id, request_id=f"ap-{uid}"))
    assert replay == applied
    _refused(stub, proposal.run_id, "APPLIED")


def test_a_proposal_whose_slot_was_taken_aborts_and_writes_nothing(server: ServerHandle, uid: str):
    stub = server.stub
    channels, videos = _seed(stub, uid)
    extra = f"st-x-{uid}"
    setup(stub, [], [video(extra, tags=["travel"])])
    start, end = _horizon()
    proposal = stub.AutoDistribute(_request(channels, videos, start, end, dry_run=True))
    target = next(c for c in proposal.changes if c.kind == ADDED)
    taken = stub.Assign(
        svc.AssignRequest(
            video_id=extra, channel_ids=[target.channel_id], scheduled_at=target.to_time
        )
    ).results[0]
    assert taken.outcome == svc.ASSIGN_OUTCOME_ASSIGNED
    error = expect_error(
        grpc.StatusCode.ABORTED, lambda: stub.ApplyRun(svc.ApplyRunRequest(run_id=proposal.run_id))
    )
    assert f"distribution {taken.distribution.id}" in error.message
    assert target.channel_id in error.message
    assert [d.id for d in _on(stub, channels)] == [taken.distribution.id]
    assert stub.GetRun(svc.GetRunRequest(run_id=proposal.run_id)).state == svc.RUN_STATE_PROPOSED


def test_an_applied_run_supersedes_older_proposals(server: ServerHandle, uid: str):
    stub = server.stub
    channels, videos = _seed(stub, uid)
    start, end = _horizon()
    older = stub.AutoDistribute(_request(channels, videos, start, end, dry_run=True))
    stub.AutoDistribute(_request(channels, videos, start, end))
    assert stub.GetRun(svc.GetRunRequest(run_id=older.run_id)).state == svc.RUN_STATE_SUPERSEDED
    _refused(stub, older.run_id, "SUPERSEDED")


def test_bad_steering_input_names_the_field(server: ServerHandle, uid: str):
    stub = server.stub
    start, end = _horizon()
    cases = [
        (_request([], [], start, end, change_penalty=5), "replan"),
        (_request([], [], start, end, replan=True, change_penalty=-1), "change_penalty"),
    ]
    for request, field in cases:
        error = expect_error(
            grpc.StatusCode.INVALID_ARGUMENT, lambda r=request: stub.AutoDistribute(r)
        )
        assert field in error.fields
    error = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, lambda: stub.ApplyRun(svc.ApplyRunRequest(run_id="nope"))
    )
    assert error.fields == ["run_id"]
    missing = "00000000-0000-4000-8000-000000000000"
    expect_error(
        grpc.StatusCode.NOT_FOUND, lambda: stub.ApplyRun(svc.ApplyRunRequest(run_id=missing))
    )
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        lambda: stub.ListRunChanges(svc.ListRunChangesRequest(run_id=missing)),
    )


def test_a_proposal_past_its_expiry_is_expired_and_cannot_be_applied(
    fresh_database_url: str, uid: str
):
    handle = start_server(fresh_database_url, proposal_ttl_hours=0.5 / 3600)  # half a second
    try:
        stub = handle.stub
        channels, videos = _seed(stub, uid)
        start, end = _horizon()
        proposal = stub.AutoDistribute(_request(channels, videos, start, end, dry_run=True))
        time.sleep(1.0)
        run = stub.GetRun(svc.GetRunRequest(run_id=proposal.run_id))
        assert run.state == svc.RUN_STATE_EXPIRED
        _refused(stub, proposal.run_id, "EXPIRED")
        assert not _on(stub, channels)
    finally:
        handle.close()
