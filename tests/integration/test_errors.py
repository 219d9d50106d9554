"""Bad input answers a precise status naming the field, and changes nothing."""

from __future__ import annotations

import grpc
import pytest

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from tests.support.factories import at, channel, video
from tests.support.rpc import expect_error

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _channel_with(**changes):
    def build(uid):
        c = channel(f"bad-{uid}")
        for path, value in changes.items():
            *parents, leaf = path.split(".")
            target = c
            for p in parents:
                target = getattr(target, p)
            if isinstance(value, list):
                getattr(target, leaf).extend(value)
            else:
                setattr(target, leaf, value)
        return c

    return build


BAD_CHANNELS = {
    "channel.timezone": _channel_with(timezone="Mars/Olympus_Mons"),
    "channel.schedule.slots[0].local_time": lambda uid: channel(f"bad-{uid}", times=("25:00",)),
    "channel.filters.min_views": _channel_with(**{"filters.min_views": -1}),
    "channel.filters.max_duration_seconds": _channel_with(
        **{"filters.min_duration_seconds": 90, "filters.max_duration_seconds": 30}
    ),
    "channel.preferences.priority": _channel_with(**{"preferences.priority": 101}),
    "channel.id": lambda uid: channel(""),
    "channel.schedule.max_posts_per_day": _channel_with(**{"schedule.max_posts_per_day": -2}),
    "channel.transformations[0].kind": _channel_with(transformations=[pb.Transformation()]),
    "channel.retry_policy.backoff_multiplier": _channel_with(
        **{"retry_policy.backoff_multiplier": 0.5}
    ),
}


@pytest.mark.parametrize("field", sorted(BAD_CHANNELS))
def test_bad_channel_names_the_field_and_writes_nothing(server, uid, field):
    bad = BAD_CHANNELS[field](uid)
    err = expect_error(INVALID, server.stub.UpsertChannel, svc.UpsertChannelRequest(channel=bad))
    assert field in err.fields, err
    assert field in err.message
    if bad.id:
        expect_error(
            grpc.StatusCode.NOT_FOUND, server.stub.GetChannel, svc.GetChannelRequest(id=bad.id)
        )


def test_every_violation_is_reported_at_once(server, uid):
    bad = channel(f"bad-{uid}", times=("7:5",), timezone="Nowhere/City")
    bad.filters.min_height = -5
    err = expect_error(INVALID, server.stub.UpsertChannel, svc.UpsertChannelRequest(channel=bad))
    assert set(err.fields) == {
        "channel.timezone",
        "channel.schedule.slots[0].local_time",
        "channel.filters.min_height",
    }


BAD_VIDEOS = {
    "videos[0].id": {"id": ""},
    "videos[0].source_url": {"source_url": "ftp//nope"},
    "videos[0].duration_seconds": {"duration_seconds": -3.0},
    "videos[0].views": {"views": -1},
    "videos[0].width": {"width": -1},
    "videos[0].language": {"language": "english!"},
    "videos[0].expires_at": {"available_from": at(2030, 1, 2), "expires_at": at(2030, 1, 1)},
}


@pytest.mark.parametrize("field", sorted(BAD_VIDEOS))
def test_bad_video_names_the_field(server, uid, field):
    v = video(f"bad-{uid}")
    for key, value in BAD_VIDEOS[field].items():
        if isinstance(value, type(at(2030, 1, 1))):
            getattr(v, key).CopyFrom(value)
        else:
            setattr(v, key, value)
    err = expect_error(INVALID, server.stub.UpsertVideos, svc.UpsertVideosRequest(videos=[v]))
    assert field in err.fields


def test_oversize_batch_is_invalid_and_writes_nothing(server, uid):
    videos = [video(f"big-{uid}-{i}") for i in range(1001)]
    err = expect_error(INVALID, server.stub.UpsertVideos, svc.UpsertVideosRequest(videos=videos))
    assert err.fields == ["videos"]
    expect_error(
        grpc.StatusCode.NOT_FOUND, server.stub.GetVideo, svc.GetVideoRequest(id=videos[0].id)
    )


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        ("GetChannel", svc.GetChannelRequest(id=""), "id"),
        ("GetVideo", svc.GetVideoRequest(id="has space"), "id"),
        ("GetDistribution", svc.GetDistributionRequest(id="not-a-uuid"), "id"),
        ("ListChannels", svc.ListChannelsRequest(page_size=-1), "page_size"),
        ("ListVideos", svc.ListVideosRequest(page_size=5000), "page_size"),
        ("Assign", svc.AssignRequest(video_id="v", channel_ids=[]), "channel_ids"),
        ("Assign", svc.AssignRequest(video_id="", channel_ids=["c"]), "video_id"),
        ("Assign", svc.AssignRequest(video_id="v", channel_ids=["c", "c"]), "channel_ids"),
        (
            "Assign",
            svc.AssignRequest(video_id="v", channel_ids=["c"], scheduled_at=at(2001, 1, 1)),
            "scheduled_at",
        ),
        (
            "SetChannelAvailability",
            svc.SetChannelAvailabilityRequest(channel_id="c", available=False),
            "reason",
        ),
        (
            "SetChannelAvailability",
            svc.SetChannelAvailabilityRequest(
                channel_id="c", available=False, reason="x", until=at(2001, 1, 1)
            ),
            "until",
        ),
        ("ListDistributions", svc.ListDistributionsRequest(state=42), "state"),
        ("ListDecisions", svc.ListDecisionsRequest(distribution_id="zzz"), "distribution_id"),
        ("Explain", svc.ExplainRequest(), "video_ids"),
        ("CancelDistribution", svc.CancelDistributionRequest(id=""), "id"),
        ("GetRun", svc.GetRunRequest(run_id=""), "run_id"),
    ],
)
def test_request_fields_are_validated(server, method, request_, field):
    err = expect_error(INVALID, getattr(server.stub, method), request_)
    assert field in err.fields


def test_not_found_names_the_resource(server, uid):
    err = expect_error(
        grpc.StatusCode.NOT_FOUND, server.stub.GetChannel, svc.GetChannelRequest(id=f"x-{uid}")
    )
    assert f"x-{uid}" in err.message and err.reason == "NOT_FOUND"
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        server.stub.SetChannelAvailability,
        svc.SetChannelAvailabilityRequest(channel_id=f"x-{uid}", available=True),
    )
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        server.stub.GetDistribution,
        svc.GetDistributionRequest(id="00000000-0000-4000-8000-000000000000"),
    )
