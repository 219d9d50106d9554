"""Catalog RPCs against the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from tests.support.factories import channel, video
from tests.support.rpc import expect_error


def test_upsert_channel_creates_active_available_and_round_trips(server, uid):
    cid = f"yt-cooking-{uid}"
    sent = channel(
        cid,
        filters=pb.ContentFilters(
            max_duration_seconds=60, required_tags=["cooking"], languages=["de"]
        ),
        preferences=pb.Preferences(tag_weights={"vegan": 2.5}, priority=7),
        transformations=[pb.Transformation(kind=pb.TRANSFORMATION_KIND_TRIM, trim_seconds=60)],
        retry_policy=pb.RetryPolicy(max_attempts=3, backoff_multiplier=3.0),
    )
    got = server.stub.UpsertChannel(svc.UpsertChannelRequest(channel=sent))
    assert got.active and got.available
    assert got.filters == sent.filters and got.preferences == sent.preferences
    assert got.schedule == sent.schedule and list(got.transformations) == list(sent.transformations)
    assert got.retry_policy == sent.retry_policy
    assert got.HasField("create_time")
    assert server.stub.GetChannel(svc.GetChannelRequest(id=cid)) == got


def test_upsert_keeps_availability_and_unset_active(server, uid):
    cid = f"ch-{uid}"
    server.stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel(cid, active=False)))
    server.stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(channel_id=cid, available=False, reason="token expired")
    )
    again = server.stub.UpsertChannel(
        svc.UpsertChannelRequest(channel=channel(cid, display_name="new"))
    )
    assert again.display_name == "new"
    assert not again.active, "an omitted `active` keeps the stored value"
    assert not again.available and again.unavailable_reason == "token expired"


def test_availability_returns_by_itself_when_until_passes(server, uid):
    import time
    from datetime import UTC, datetime, timedelta

    from server.api.converters import dt_to_ts

    cid = f"ch-{uid}"
    server.stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel(cid)))
    until = dt_to_ts(datetime.now(UTC) + timedelta(seconds=1))
    got = server.stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(
            channel_id=cid, available=False, until=until, reason="maintenance"
        )
    )
    assert not got.available
    time.sleep(1.2)
    assert server.stub.GetChannel(svc.GetChannelRequest(id=cid)).available


def test_upsert_videos_normalises_source_and_replaces(server, uid):
    vid = f"v-{uid}"
    server.stub.UpsertVideos(
        svc.UpsertVideosRequest(
            videos=[
                video(vid, source_url=f"HTTPS://CDN.Example.com:443/{uid}/?utm_source=x&b=2&a=1#t")
            ]
        )
    )
    got = server.stub.GetVideo(svc.GetVideoRequest(id=vid))
    assert got.source_url == f"https://cdn.example.com/{uid}?a=1&b=2"
    assert got.state == pb.VIDEO_STATE_READY
    server.stub.UpsertVideos(svc.UpsertVideosRequest(videos=[video(vid, title="renamed")]))
    assert server.stub.GetVideo(svc.GetVideoRequest(id=vid)).title == "renamed"


def test_upsert_videos_is_all_or_nothing(server, uid):
    good, bad = video(f"good-{uid}"), video(f"bad-{uid}", source_url="not a url")
    err = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        server.stub.UpsertVideos,
        svc.UpsertVideosRequest(videos=[good, bad]),
    )
    assert "videos[1].source_url" in err.fields
    expect_error(grpc.StatusCode.NOT_FOUND, server.stub.GetVideo, svc.GetVideoRequest(id=good.id))


def test_list_channels_pages_with_opaque_tokens(server, uid):
    ids = [f"page-{uid}-{i}" for i in range(5)]
    for cid in ids:
        server.stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel(cid)))
    seen: list[str] = []
    token = ""
    while True:
        page = server.stub.ListChannels(svc.ListChannelsRequest(page_size=2, page_token=token))
        assert len(page.channels) <= 2
        seen += [c.id for c in page.channels]
        token = page.next_page_token
        if not token:
            break
    assert [s for s in seen if s.startswith(f"page-{uid}")] == ids
    assert seen == sorted(seen)


@pytest.mark.parametrize("token", ["garbage", "eyJsIjoiY2hhbm5lbHMifQ", "A" * 60])
def test_forged_page_token_is_invalid_argument(server, token):
    err = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        server.stub.ListVideos,
        svc.ListVideosRequest(page_token=token),
    )
    assert err.fields == ["page_token"]


def test_page_token_of_another_listing_is_refused(server, uid):
    for i in range(3):
        server.stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel(f"tok-{uid}-{i}")))
    token = server.stub.ListChannels(svc.ListChannelsRequest(page_size=1)).next_page_token
    assert token
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        server.stub.ListVideos,
        svc.ListVideosRequest(page_token=token),
    )
