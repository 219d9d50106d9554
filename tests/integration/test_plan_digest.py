"""A dry run's plan is the plan that its apply writes, or the apply says the inputs changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc

from distribution.v1 import distribution_service_pb2 as svc
from server.api.converters import dt_to_ts
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error


def _request(uid: str, channels: list[str], **fields) -> svc.AutoDistributeRequest:
    start = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=1)
    return svc.AutoDistributeRequest(
        mode=svc.AUTO_DISTRIBUTE_MODE_FILTER,
        channel_ids=channels,
        video_ids=[f"dg-{uid}-{i}" for i in range(6)],
        horizon_start=dt_to_ts(start),
        horizon_end=dt_to_ts(start + timedelta(days=2)),
        max_channels_per_video=2,
        time_limit_seconds=10,
        **fields,
    )


def _pairs(response: svc.AutoDistributeResponse) -> list[tuple[str, str, int]]:
    return sorted((a.video_id, a.channel_id, a.scheduled_at.seconds) for a in response.assignments)


def test_apply_writes_exactly_the_dry_run_or_refuses(server, uid):
    channels = [f"dgc-{uid}-{i}" for i in range(3)]
    setup(
        server.stub,
        [channel(c, times=("09:00", "12:00")) for c in channels],
        [video(f"dg-{uid}-{i}", views=1000 * (i + 1)) for i in range(6)],
    )
    dry = server.stub.AutoDistribute(_request(uid, channels, dry_run=True))
    assert len(dry.input_digest) == 64 and dry.assignment_count > 0
    again = server.stub.AutoDistribute(_request(uid, channels, dry_run=True))
    assert (again.input_digest, _pairs(again)) == (dry.input_digest, _pairs(dry))

    applied = server.stub.AutoDistribute(
        _request(uid, channels, expected_input_digest=dry.input_digest)
    )
    assert not applied.dry_run and _pairs(applied) == _pairs(dry)

    # Now the applied plan is live: the same dry-run digest no longer matches the inputs.
    err = expect_error(
        grpc.StatusCode.ABORTED,
        server.stub.AutoDistribute,
        _request(uid, channels, expected_input_digest=dry.input_digest),
    )
    assert "inputs changed" in err.message
    listed = server.stub.ListDistributions(svc.ListDistributionsRequest(run_id=applied.run_id))
    assert len(listed.distributions) == applied.assignment_count
    runs = server.stub.ListRuns(svc.ListRunsRequest(page_size=5)).runs
    assert sum(r.run_id == applied.run_id for r in runs) == 1


def test_an_apply_whose_plan_differs_from_the_dry_run_writes_nothing(server, uid):
    channels = [f"dgp-{uid}-{i}" for i in range(2)]
    setup(
        server.stub,
        [channel(c) for c in channels],
        [video(f"dg-{uid}-{i}") for i in range(6)],
    )
    dry = server.stub.AutoDistribute(_request(uid, channels, dry_run=True))
    assert len(dry.plan_digest) == 64
    again = server.stub.AutoDistribute(_request(uid, channels, dry_run=True))
    assert again.plan_digest == dry.plan_digest
    err = expect_error(
        grpc.StatusCode.ABORTED,
        server.stub.AutoDistribute,
        _request(
            uid,
            channels,
            expected_input_digest=dry.input_digest,
            expected_plan_digest="0" * 64,  # as if the search had ended on another plan
        ),
    )
    assert "another plan" in err.message
    for c in channels:
        listed = server.stub.ListDistributions(svc.ListDistributionsRequest(channel_id=c))
        assert not listed.distributions


def test_a_malformed_expected_digest_is_invalid(server, uid):
    err = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        server.stub.AutoDistribute,
        _request(uid, [], expected_input_digest="abc"),
    )
    assert err.fields == ["expected_input_digest"]
