"""Slot weights over the real server, on SQLite and PostgreSQL: the best video takes the
prime slot, each distribution shows the weight of its slot, and bad weights name the field."""

from __future__ import annotations

import math

import grpc
import pytest

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import ts_to_dt
from tests.integration.test_autodistribute import run
from tests.support.factories import EVERY_DAY, channel, setup, video
from tests.support.rpc import expect_error


def weighted(cid: str, weights: dict[str, float]) -> pb.Channel:
    """A UTC channel posting daily at the given local times with their weights."""
    message = channel(cid, times=(), timezone="UTC")
    for local_time, weight in weights.items():
        message.schedule.slots.add(days=EVERY_DAY, local_time=local_time, weight=weight)
    return message


def test_the_best_video_takes_the_prime_slot(server, uid) -> None:
    stub = server.stub
    prime = weighted(f"w-{uid}", {"09:00": 3.0, "18:00": 0.0})  # 0 means 1.0
    prime.preferences.CopyFrom(pb.Preferences(tag_weights={"star": 2}))
    setup(stub, [prime], [video(f"hi-{uid}", tags=["cooking", "star"]), video(f"lo-{uid}")])
    res = run(stub, [prime.id], [f"hi-{uid}", f"lo-{uid}"], days=1)
    assert res.solver_status == svc.SOLVER_STATUS_OPTIMAL and res.objective == res.best_bound
    by_video = {a.video_id: a for a in res.assignments}
    hi, lo = by_video[f"hi-{uid}"], by_video[f"lo-{uid}"]
    assert hi.score > lo.score
    assert (ts_to_dt(hi.scheduled_at).hour, hi.slot_weight) == (9, 3.0)
    assert (ts_to_dt(lo.scheduled_at).hour, lo.slot_weight) == (18, 0.0)  # 0 means 1.0
    # The objective values each placement at score * weight (whole points).
    assert res.objective == math.floor(3 * hi.score + lo.score)
    stored = stub.GetDistribution(svc.GetDistributionRequest(id=hi.id))
    assert stored.slot_weight == 3.0
    # Explain shows the channel's best slot weight and what the video is worth there.
    pair = stub.Explain(svc.ExplainRequest(video_ids=[f"hi-{uid}"], channel_ids=[prime.id])).pairs[
        0
    ]
    assert (pair.best_slot_weight, pair.best_value) == (3.0, 3 * pair.score)
    plain = channel(f"p-{uid}", timezone="UTC")
    setup(stub, [plain], [])
    unweighted = stub.Explain(
        svc.ExplainRequest(video_ids=[f"hi-{uid}"], channel_ids=[plain.id])
    ).pairs[0]
    assert (unweighted.best_slot_weight, unweighted.best_value) == (0.0, 0)


def test_assign_and_suggestions_show_the_slot_weight(server, uid) -> None:
    stub = server.stub
    half = weighted(f"h-{uid}", {"09:00": 0.5})
    setup(stub, [half], [video(f"s-{uid}")])
    suggested = stub.SuggestPlacements(
        svc.SuggestPlacementsRequest(video_id=f"s-{uid}", channel_ids=[half.id])
    ).placements[0]
    assert suggested.slot_weight == 0.5 and suggested.value == round(suggested.score * 0.5)
    made = stub.Assign(svc.AssignRequest(video_id=f"s-{uid}", channel_ids=[half.id])).results[0]
    assert made.distribution.slot_weight == 0.5


@pytest.mark.parametrize("weight", [-1.0, 100.5, math.nan, math.inf])
def test_a_bad_weight_names_the_field(server, uid, weight: float) -> None:
    bad = weighted(f"b-{uid}", {"09:00": 1.0})
    bad.schedule.slots[0].weight = weight
    failure = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        server.stub.UpsertChannel,
        svc.UpsertChannelRequest(channel=bad),
    )
    assert failure.fields == ["channel.schedule.slots[0].weight"]
    expect_error(
        grpc.StatusCode.NOT_FOUND, server.stub.GetChannel, svc.GetChannelRequest(id=bad.id)
    )
