"""Every class of edge failure found by the load run of the hardening issue, as a test.

Each test failed before its fix: a replay refused for the clock, INTERNAL for bad input,
accepted values that broke later calls for everybody, answers too large to read, and the
other edges (busy port, repeated reports, Stats on an unknown channel, over-long actor).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts
from server.app import CannotListen, create_server
from server.settings import Settings
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error

INVALID = grpc.StatusCode.INVALID_ARGUMENT
BEYOND_9999 = timestamp_pb2.Timestamp(seconds=253402300800 + 86400)
BAD_NANOS = timestamp_pb2.Timestamp(seconds=1_900_000_000, nanos=-5)


def _now() -> datetime:
    return datetime.now(UTC)


def _seed(server, uid, **channel_fields):
    cid, vid = f"h-{uid}", f"hv-{uid}"
    setup(server.stub, [channel(cid, **channel_fields)], [video(vid)])
    return cid, vid


# --- 1. a replay of an applied request gets its first answer, however late --------------


def test_assign_replay_after_the_past_tolerance_gets_its_first_answer(server, uid):
    cid, vid = _seed(server, uid)
    # On the calendar? No: force, so that only the past-tolerance check matters.
    at = _now() - timedelta(minutes=5) + timedelta(seconds=2)
    request = svc.AssignRequest(
        video_id=vid,
        channel_ids=[cid],
        force=True,
        scheduled_at=dt_to_ts(at.replace(microsecond=0)),
        request_id=f"late-{uid}",
    )
    first = server.stub.Assign(request)
    assert first.results[0].outcome == svc.ASSIGN_OUTCOME_ASSIGNED
    time.sleep(3)
    assert server.stub.Assign(request) == first
    fresh = svc.AssignRequest()
    fresh.CopyFrom(request)
    fresh.request_id = f"late2-{uid}"
    err = expect_error(INVALID, server.stub.Assign, fresh)
    assert err.fields == ["scheduled_at"]


def test_autodistribute_replay_after_its_horizon_and_with_a_short_deadline(server, uid):
    cid, vid = _seed(
        server, uid, times=tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30))
    )
    end = _now() + timedelta(seconds=3)
    request = svc.AutoDistributeRequest(
        mode=svc.AUTO_DISTRIBUTE_MODE_FILTER,
        video_ids=[vid],
        channel_ids=[cid],
        horizon_end=dt_to_ts(end),
        time_limit_seconds=5,
        request_id=f"ad-{uid}",
    )
    first = server.stub.AutoDistribute(request)
    time.sleep(max(0.0, (end - _now()).total_seconds()) + 1)
    assert server.stub.AutoDistribute(request) == first
    assert server.stub.AutoDistribute(request, timeout=0.5) == first
    other = svc.AutoDistributeRequest()
    other.CopyFrom(request)
    other.min_score = 1  # same request_id, other body
    err = expect_error(INVALID, server.stub.AutoDistribute, other)
    assert err.fields == ["request_id"]


# --- 2. bad input never answers INTERNAL --------------------------------------------------


def _upsert(server, c):
    return server.stub.UpsertChannel(svc.UpsertChannelRequest(channel=c))


def _bad_channels(uid):
    def base():
        return channel(f"x-{uid}")

    cases = {}
    c = base()
    c.schedule.blackouts.add(start_time=BEYOND_9999, end_time=BEYOND_9999)
    cases["channel.schedule.blackouts[0].start_time"] = c
    c = base()
    c.retry_policy.initial_backoff.CopyFrom(duration_pb2.Duration(seconds=10**12))
    cases["channel.retry_policy.initial_backoff"] = c
    c = base()
    c.retry_policy.max_backoff.CopyFrom(duration_pb2.Duration(seconds=5, nanos=-1))
    cases["channel.retry_policy.max_backoff"] = c
    for tz in ("America", "x" * 300, "Europe/Berlin\n"):
        c = base()
        c.timezone = tz
        cases[f"channel.timezone={tz[:12]!r}"] = c
    for local_time in ("09:00\n", "\u0660\u0669:\u0660\u0660", "9:00"):  # Arabic-Indic 09:00
        cases[f"channel.schedule.slots[0].local_time={local_time!r}"] = channel(
            f"x-{uid}", times=(local_time,)
        )
    c = base()
    c.transformations.add(kind=pb.TRANSFORMATION_KIND_CROP, orientation=99)
    cases["channel.transformations[0].orientation"] = c
    c = base()
    c.filters.languages.append("en-" + "a" * 36)
    cases["channel.filters.languages[0]"] = c
    c = base()
    c.filters.required_tags.extend(f"t{i}" for i in range(10_000))
    cases["channel.filters.required_tags"] = c
    c = base()
    for _ in range(2_000):
        c.schedule.slots.add(days=[1], local_time="10:00")
    cases["channel.schedule.slots"] = c
    c = base()
    c.id = f"x-{uid}\n"
    cases["channel.id"] = c
    c = base()
    c.display_name = "nul\x00inside"
    cases["channel.display_name"] = c
    return cases


def test_bad_channels_answer_invalid_argument_naming_the_field(server, uid):
    for name, bad in _bad_channels(uid).items():
        field = name.split("=")[0]
        err = expect_error(INVALID, _upsert, server, bad)
        assert any(f == field or f.startswith(field) for f in err.fields), (name, err)
        assert len(err.message) < 3000, name
    expect_error(
        grpc.StatusCode.NOT_FOUND, server.stub.GetChannel, svc.GetChannelRequest(id=f"x-{uid}")
    )


def test_bad_videos_answer_invalid_argument_naming_the_field(server, uid):
    cases = {
        "videos[0].available_from": video(f"v-{uid}", available_from=BEYOND_9999),
        "videos[0].expires_at": video(f"v-{uid}", expires_at=BAD_NANOS),
        "videos[0].state": video(f"v-{uid}", state=42),
        "videos[0].language": video(f"v-{uid}", language="en-" + "abcdefgh-" * 4),
        "videos[0].source_url": video(f"v-{uid}", source_url="https://x.test/" + "a" * 9000),
        "videos[0].tags": video(f"v-{uid}", tags=[f"t{i}" for i in range(10_000)]),
        "videos[0].id": video(f"v-{uid}\n"),
        "videos[0].title": video(f"v-{uid}", title="a\x00b"),
    }
    for field, bad in cases.items():
        err = expect_error(INVALID, server.stub.UpsertVideos, svc.UpsertVideosRequest(videos=[bad]))
        assert field in err.fields, (field, err)
    expect_error(
        grpc.StatusCode.NOT_FOUND, server.stub.GetVideo, svc.GetVideoRequest(id=f"v-{uid}")
    )


def test_out_of_range_times_and_durations_in_calls(server, uid):
    cid, vid = _seed(server, uid)
    calls = [
        (
            server.stub.Assign,
            svc.AssignRequest(video_id=vid, channel_ids=[cid], scheduled_at=BEYOND_9999),
            "scheduled_at",
        ),
        (server.stub.Stats, svc.StatsRequest(start_time=BAD_NANOS), "start_time"),
        (
            server.stub.AutoDistribute,
            svc.AutoDistributeRequest(mode=1, horizon_end=BEYOND_9999),
            "horizon_end",
        ),
        (
            server.stub.SetChannelAvailability,
            svc.SetChannelAvailabilityRequest(channel_id=cid, reason="r", until=BEYOND_9999),
            "until",
        ),
        (
            server.stub.LeasePublications,
            svc.LeasePublicationsRequest(
                worker_id="w", lookahead=duration_pb2.Duration(seconds=10**12)
            ),
            "lookahead",
        ),
        (
            server.stub.LeasePublications,
            svc.LeasePublicationsRequest(
                worker_id="w", lookahead=duration_pb2.Duration(seconds=-1)
            ),
            "lookahead",
        ),
    ]
    for method, request, field in calls:
        err = expect_error(INVALID, method, request)
        assert field in err.fields, (field, err)


# --- 3. nothing accepted breaks later calls -------------------------------------------------


def test_accepted_channels_keep_planning_working_for_everybody(server, uid):
    _, vid = _seed(server, uid)
    # Every value the old checks let through but the calendar refused is now refused up front,
    # so after all these attempts planning over every channel still works.
    for bad in _bad_channels(uid).values():
        try:
            _upsert(server, bad)
        except grpc.RpcError as exc:
            assert exc.code() == INVALID
    server.stub.Explain(svc.ExplainRequest(video_ids=[vid]))
    plan = server.stub.AutoDistribute(
        svc.AutoDistributeRequest(mode=1, dry_run=True, time_limit_seconds=5)
    )
    assert plan.solver_status != svc.SOLVER_STATUS_UNSPECIFIED


# --- 4. answers a client can read -----------------------------------------------------------


def test_a_huge_bad_value_is_quoted_short(server):
    err = expect_error(INVALID, server.stub.GetChannel, svc.GetChannelRequest(id="é" * 10_000))
    assert len(err.message) < 400
    many = svc.ExplainRequest(video_ids=[f"bad id {i}" for i in range(100)])
    err = expect_error(INVALID, server.stub.Explain, many)
    assert len(err.fields) <= 21


def test_bytes_that_do_not_parse_answer_invalid_argument(server):
    call = server.channel.unary_unary(
        "/distribution.v1.DistributionService/GetChannel",
        request_serializer=None,
        response_deserializer=None,
    )
    with pytest.raises(grpc.RpcError) as info:
        call(b"\xff\xff\xff\xff\x0f garbage")
    assert info.value.code() == INVALID


# --- 5. other edges -------------------------------------------------------------------------


def test_a_busy_port_fails_at_start(server, tmp_path):
    settings = Settings.from_env(
        environ={}, address=server.address, database_url=f"sqlite:///{tmp_path}/busy.db"
    )
    with pytest.raises(CannotListen, match="in use"):
        create_server(settings)


def test_stats_of_an_unknown_channel_is_not_found(server, uid):
    err = expect_error(
        grpc.StatusCode.NOT_FOUND, server.stub.Stats, svc.StatsRequest(channel_ids=[f"none-{uid}"])
    )
    assert f"none-{uid}" in err.message


def test_an_over_long_actor_is_refused_not_cut(server, uid):
    cid, vid = _seed(server, uid)
    err = expect_error(
        INVALID,
        server.stub.Assign,
        svc.AssignRequest(video_id=vid, channel_ids=[cid]),
        metadata=[("x-vdist-actor", "a" * 129)],
    )
    assert err.fields == ["x-vdist-actor"]


def _leased(server, uid):
    cid, vid = _seed(server, uid)
    server.stub.Assign(
        svc.AssignRequest(
            video_id=vid,
            channel_ids=[cid],
            force=True,
            scheduled_at=dt_to_ts(_now().replace(microsecond=0)),
        )
    )
    leases = server.stub.LeasePublications(
        svc.LeasePublicationsRequest(worker_id=f"w-{uid}", channel_ids=[cid])
    ).leases
    assert len(leases) == 1
    return leases[0]


def test_a_repeated_report_is_answered_only_when_it_is_the_same(server, uid):
    lease = _leased(server, uid)
    report = svc.ReportPublicationRequest(
        distribution_id=lease.distribution.id,
        lease_token=lease.lease_token,
        published=svc.PublishedOutcome(external_id="yt-1", url="https://yt.test/1"),
    )
    first = server.stub.ReportPublication(report)
    assert server.stub.ReportPublication(report) == first
    other = svc.ReportPublicationRequest()
    other.CopyFrom(report)
    other.published.external_id = "yt-2"
    err = expect_error(grpc.StatusCode.FAILED_PRECONDITION, server.stub.ReportPublication, other)
    assert "published" in err.message
    failed = svc.ReportPublicationRequest(
        distribution_id=lease.distribution.id,
        lease_token=lease.lease_token,
        failed=svc.FailedOutcome(error="boom"),
    )
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, server.stub.ReportPublication, failed)
    got = server.stub.GetDistribution(svc.GetDistributionRequest(id=lease.distribution.id))
    assert (got.state, got.external_id) == (pb.DISTRIBUTION_STATE_PUBLISHED, "yt-1")


def test_a_late_published_after_a_give_up_is_kept_with_its_external_id(server, uid):
    lease = _leased(server, uid)
    failed = svc.ReportPublicationRequest(
        distribution_id=lease.distribution.id,
        lease_token=lease.lease_token,
        failed=svc.FailedOutcome(error="rejected", retryable=False),
    )
    assert server.stub.ReportPublication(failed).state == pb.DISTRIBUTION_STATE_FAILED
    assert server.stub.ReportPublication(failed).state == pb.DISTRIBUTION_STATE_FAILED
    late = svc.ReportPublicationRequest(
        distribution_id=lease.distribution.id,
        lease_token=lease.lease_token,
        published=svc.PublishedOutcome(external_id="yt-late", url="https://yt.test/late"),
    )
    err = expect_error(grpc.StatusCode.FAILED_PRECONDITION, server.stub.ReportPublication, late)
    assert "FAILED" in err.message and "LATE_PUBLISHED" in err.message
    decisions = server.stub.ListDecisions(
        svc.ListDecisionsRequest(distribution_id=lease.distribution.id)
    ).decisions
    late_decisions = [d for d in decisions if d.kind == pb.DECISION_KIND_LATE_PUBLISHED]
    assert len(late_decisions) == 1
    assert late_decisions[0].details["external_id"] == "yt-late"
    got = server.stub.GetDistribution(svc.GetDistributionRequest(id=lease.distribution.id))
    assert (got.state, got.external_id) == (pb.DISTRIBUTION_STATE_FAILED, "yt-late")
