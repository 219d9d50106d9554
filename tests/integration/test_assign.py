"""Assign, Explain, Cancel and the audit trail against the real server, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts, ts_to_dt
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error

Outcome = svc.AssignOutcome


def decisions(server, **filters):
    return list(
        server.stub.ListDecisions(svc.ListDecisionsRequest(page_size=1000, **filters)).decisions
    )


def test_assign_takes_next_free_slot_and_audits(server, uid):
    cid, vid, vid2 = f"c-{uid}", f"v-{uid}", f"w-{uid}"
    setup(server.stub, [channel(cid, times=("09:00",))], [video(vid), video(vid2)])
    first = server.stub.Assign(
        svc.AssignRequest(video_id=vid, channel_ids=[cid], note="launch"),
        metadata=[("x-vdist-actor", "alice")],
    ).results[0]
    assert first.outcome == Outcome.ASSIGN_OUTCOME_ASSIGNED
    d = first.distribution
    assert d.state == pb.DISTRIBUTION_STATE_SCHEDULED and d.method == pb.DISTRIBUTION_METHOD_MANUAL
    assert d.actor == "alice" and d.score > 0
    slot = ts_to_dt(d.scheduled_at)
    assert (
        slot > datetime.now(UTC)
        and slot.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).hour == 9
    )
    second = server.stub.Assign(svc.AssignRequest(video_id=vid2, channel_ids=[cid])).results[0]
    assert ts_to_dt(second.distribution.scheduled_at) - slot == timedelta(days=1) or (
        ts_to_dt(second.distribution.scheduled_at) > slot
    )
    [decision] = decisions(server, distribution_id=d.id)
    assert decision.kind == pb.DECISION_KIND_ASSIGNED and decision.actor == "alice"
    assert decision.details["note"] == "launch" and decision.details["score"]["total"] == d.score


def test_duplicates_by_video_and_by_source_are_rejected(server, uid):
    cid = f"c-{uid}"
    same_source = video(
        f"copy-{uid}", source_url=f"https://CDN.example.com/videos/v-{uid}.mp4?utm_medium=x"
    )
    setup(server.stub, [channel(cid)], [video(f"v-{uid}"), same_source])
    server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid]))
    again = server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid])).results[0]
    assert again.outcome == Outcome.ASSIGN_OUTCOME_REJECTED_DUPLICATE
    by_source = server.stub.Assign(
        svc.AssignRequest(video_id=f"copy-{uid}", channel_ids=[cid])
    ).results[0]
    assert (
        by_source.outcome == Outcome.ASSIGN_OUTCOME_REJECTED_DUPLICATE
        and "source URL" in by_source.reason
    )
    forced = server.stub.Assign(
        svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid], force=True)
    ).results[0]
    assert forced.outcome == Outcome.ASSIGN_OUTCOME_REJECTED_DUPLICATE, (
        "force does not override duplicates"
    )
    allowed = server.stub.Assign(
        svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid], allow_duplicate=True)
    ).results[0]
    assert (
        allowed.outcome == Outcome.ASSIGN_OUTCOME_ASSIGNED
        and allowed.distribution.duplicate_override
    )
    kinds = [x.kind for x in decisions(server, channel_id=cid)]
    assert kinds.count(pb.DECISION_KIND_REJECTED) == 3 and pb.DECISION_KIND_OVERRIDE in kinds


def test_filter_rejection_names_the_filter_and_force_overrides(server, uid):
    strict = channel(
        f"s-{uid}", filters=pb.ContentFilters(max_duration_seconds=10, languages=["de"])
    )
    setup(server.stub, [strict], [video(f"v-{uid}", duration_seconds=30, language="en")])
    res = server.stub.Assign(
        svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[strict.id])
    ).results[0]
    assert res.outcome == Outcome.ASSIGN_OUTCOME_REJECTED_FILTER
    assert list(res.failed_filters) == ["max_duration_seconds", "languages"]
    assert "max_duration_seconds" in res.reason and "languages" in res.reason
    forced = server.stub.Assign(
        svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[strict.id], force=True)
    )
    d = forced.results[0].distribution
    assert forced.results[0].outcome == Outcome.ASSIGN_OUTCOME_ASSIGNED
    [decision] = decisions(server, distribution_id=d.id)
    assert decision.kind == pb.DECISION_KIND_OVERRIDE
    assert any("filters" in o for o in decision.details["overrides"])


def test_transformation_satisfies_filter_and_is_listed(server, uid):
    c = channel(
        f"t-{uid}",
        filters=pb.ContentFilters(max_duration_seconds=60),
        transformations=[pb.Transformation(kind=pb.TRANSFORMATION_KIND_TRIM)],
    )
    setup(server.stub, [c], [video(f"v-{uid}", duration_seconds=300)])
    res = server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[c.id])).results[0]
    assert res.outcome == Outcome.ASSIGN_OUTCOME_ASSIGNED
    [t] = res.distribution.transformations
    assert t.kind == pb.TRANSFORMATION_KIND_TRIM and t.trim_seconds == 60


def test_unavailable_channel_is_rejected_unless_forced(server, uid):
    cid = f"c-{uid}"
    setup(server.stub, [channel(cid)], [video(f"v-{uid}")])
    server.stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(channel_id=cid, available=False, reason="api quota")
    )
    res = server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid])).results[0]
    assert res.outcome == Outcome.ASSIGN_OUTCOME_REJECTED_UNAVAILABLE and "api quota" in res.reason
    forced = server.stub.Assign(
        svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid], force=True)
    )
    assert forced.results[0].outcome == Outcome.ASSIGN_OUTCOME_ASSIGNED


def test_scheduled_at_must_be_a_free_calendar_slot_unless_forced(server, uid):
    cid = f"c-{uid}"
    setup(
        server.stub,
        [channel(cid, times=("09:00",), timezone="UTC")],
        [video(f"a-{uid}"), video(f"b-{uid}"), video(f"c-{uid}")],
    )
    day = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    ok = server.stub.Assign(
        svc.AssignRequest(video_id=f"a-{uid}", channel_ids=[cid], scheduled_at=dt_to_ts(day))
    )
    assert ok.results[0].outcome == Outcome.ASSIGN_OUTCOME_ASSIGNED
    taken = server.stub.Assign(
        svc.AssignRequest(
            video_id=f"b-{uid}", channel_ids=[cid], scheduled_at=dt_to_ts(day), force=True
        )
    )
    assert taken.results[0].outcome == Outcome.ASSIGN_OUTCOME_REJECTED_NO_SLOT, (
        "force never double-books a slot"
    )
    off = dt_to_ts(day + timedelta(hours=2))
    refused = server.stub.Assign(
        svc.AssignRequest(video_id=f"b-{uid}", channel_ids=[cid], scheduled_at=off)
    )
    assert refused.results[0].outcome == Outcome.ASSIGN_OUTCOME_REJECTED_NO_SLOT
    forced = server.stub.Assign(
        svc.AssignRequest(video_id=f"b-{uid}", channel_ids=[cid], scheduled_at=off, force=True)
    )
    assert forced.results[0].outcome == Outcome.ASSIGN_OUTCOME_ASSIGNED


def test_one_result_per_channel_in_request_order(server, uid):
    ok, strict = (
        channel(f"ok-{uid}"),
        channel(f"strict-{uid}", filters=pb.ContentFilters(min_views=10**9)),
    )
    setup(server.stub, [ok, strict], [video(f"v-{uid}")])
    res = server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[strict.id, ok.id]))
    assert [r.channel_id for r in res.results] == [strict.id, ok.id]
    assert [r.outcome for r in res.results] == [
        Outcome.ASSIGN_OUTCOME_REJECTED_FILTER,
        Outcome.ASSIGN_OUTCOME_ASSIGNED,
    ]


def test_unknown_video_or_channel_is_not_found_and_writes_nothing(server, uid):
    cid = f"c-{uid}"
    setup(server.stub, [channel(cid)], [video(f"v-{uid}")])
    err = expect_error(
        grpc.StatusCode.NOT_FOUND,
        server.stub.Assign,
        svc.AssignRequest(video_id=f"nope-{uid}", channel_ids=[cid]),
    )
    assert err.reason == "NOT_FOUND"
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        server.stub.Assign,
        svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid, f"nope-{uid}"]),
    )
    assert decisions(server, channel_id=cid) == []
    assert not server.stub.ListDistributions(
        svc.ListDistributionsRequest(channel_id=cid)
    ).distributions


def test_request_id_replays_the_first_response(server, uid):
    cid = f"c-{uid}"
    setup(server.stub, [channel(cid)], [video(f"v-{uid}")])
    req = svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid], request_id=f"req-{uid}")
    first = server.stub.Assign(req)
    assert server.stub.Assign(req) == first
    assert len(decisions(server, channel_id=cid)) == 1
    other = svc.AssignRequest(
        video_id=f"v-{uid}", channel_ids=[cid], request_id=f"req-{uid}", note="x"
    )
    err = expect_error(grpc.StatusCode.INVALID_ARGUMENT, server.stub.Assign, other)
    assert err.fields == ["request_id"]


def test_cancel_frees_slot_and_pair(server, uid):
    cid = f"c-{uid}"
    setup(server.stub, [channel(cid, times=("09:00",))], [video(f"v-{uid}"), video(f"w-{uid}")])
    d = (
        server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid]))
        .results[0]
        .distribution
    )
    cancelled = server.stub.CancelDistribution(
        svc.CancelDistributionRequest(id=d.id, reason="wrong cut")
    )
    assert cancelled.state == pb.DISTRIBUTION_STATE_CANCELLED
    expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        server.stub.CancelDistribution,
        svc.CancelDistributionRequest(id=d.id),
    )
    again = server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[cid])).results[0]
    assert again.outcome == Outcome.ASSIGN_OUTCOME_ASSIGNED
    assert again.distribution.scheduled_at == d.scheduled_at, "the freed slot is the next free one"
    kinds = [x.kind for x in decisions(server, video_id=f"v-{uid}")]
    assert kinds == [
        pb.DECISION_KIND_ASSIGNED,
        pb.DECISION_KIND_CANCELLED,
        pb.DECISION_KIND_ASSIGNED,
    ]


def test_list_distributions_filters_and_pages(server, uid):
    cids = [f"c{i}-{uid}" for i in range(3)]
    setup(server.stub, [channel(c) for c in cids], [video(f"v-{uid}")])
    server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=cids))
    got, token = [], ""
    while True:
        page = server.stub.ListDistributions(
            svc.ListDistributionsRequest(
                video_id=f"v-{uid}",
                page_size=2,
                page_token=token,
                state=pb.DISTRIBUTION_STATE_SCHEDULED,
            )
        )
        got += page.distributions
        token = page.next_page_token
        if not token:
            break
    assert sorted(d.channel_id for d in got) == sorted(cids)
    assert not server.stub.ListDistributions(
        svc.ListDistributionsRequest(video_id=f"v-{uid}", method=pb.DISTRIBUTION_METHOD_AUTO_FILTER)
    ).distributions


def test_explain_uses_filters_scores_and_reports_duplicates(server, uid):
    ok = channel(f"ok-{uid}", preferences=pb.Preferences(tag_weights={"cooking": 3}))
    strict = channel(f"strict-{uid}", filters=pb.ContentFilters(exclude_tags=["cooking"]))
    setup(server.stub, [ok, strict], [video(f"v-{uid}")])
    d = (
        server.stub.Assign(svc.AssignRequest(video_id=f"v-{uid}", channel_ids=[ok.id]))
        .results[0]
        .distribution
    )
    pairs = server.stub.Explain(
        svc.ExplainRequest(video_ids=[f"v-{uid}"], channel_ids=[ok.id, strict.id])
    ).pairs
    assert pairs[0].eligible and pairs[0].score == d.score and pairs[0].duplicate_of == d.id
    assert not pairs[1].eligible and list(pairs[1].failed_filters) == ["exclude_tags"]
