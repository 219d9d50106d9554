"""SuggestPlacements over the network, on both databases: ranking, blockers, displacement,
bad input; and its read of the live distributions against the full one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from persistence.enums import DistributionMethod, DistributionState
from server.api.converters import dt_to_ts
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error
from tests.support.servers import ServerHandle

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _utc(cid: str, **fields: object) -> pb.Channel:
    return channel(cid, times=("09:00", "21:00"), timezone="UTC", **fields)


def test_options_rank_by_value_and_blocked_channels_say_why(server: ServerHandle, uid: str):
    stub = server.stub
    keen, plain = f"sg-keen-{uid}", f"sg-plain-{uid}"
    picky, idle, dup = f"sg-picky-{uid}", f"sg-idle-{uid}", f"sg-dup-{uid}"
    vid = f"sg-v-{uid}"
    setup(
        stub,
        [
            _utc(keen, preferences=pb.Preferences(priority=5)),
            _utc(plain),
            _utc(picky, filters=pb.ContentFilters(required_tags=["gaming"])),
            _utc(idle, active=False),
            _utc(dup),
        ],
        [video(vid, tags=["cooking"])],
    )
    live = stub.Assign(svc.AssignRequest(video_id=vid, channel_ids=[dup]))
    channels = [plain, keen, picky, idle, dup]
    got = stub.SuggestPlacements(
        svc.SuggestPlacementsRequest(video_id=vid, channel_ids=channels, limit=5)
    ).placements
    assert [p.channel_id for p in got] == [keen, plain, dup, idle, picky]
    best, second = got[0], got[1]
    assert best.value == best.score == 10_500 and second.value == 10_000
    assert best.slot_weight == 1.0 and not best.displaces and not best.blockers
    now = datetime.now(UTC)
    first = best.scheduled_at.ToDatetime(UTC)
    assert now < first <= now + timedelta(hours=12) and first.minute == 0
    assert first.hour in (9, 21)
    blocked = {p.channel_id: list(p.blockers) for p in got[2:]}
    assert blocked[idle] == ["channel is inactive"]
    assert blocked[picky] == ["fails channel filters: required_tags"]
    assert blocked[dup] == [
        f"already live on {dup} as distribution {live.results[0].distribution.id}"
    ]
    assert all(not p.HasField("scheduled_at") for p in got[2:])
    # The limit cuts the options, never the blocked channels.
    cut = stub.SuggestPlacements(
        svc.SuggestPlacementsRequest(video_id=vid, channel_ids=channels, limit=1)
    ).placements
    assert [p.channel_id for p in cut] == [keen, dup, idle, picky]


def test_a_full_channel_offers_the_slot_of_a_weaker_auto_distribution(
    server: ServerHandle, uid: str
):
    stub = server.stub
    full = f"sg-full-{uid}"
    fillers = [video(f"sg-fill{i}-{uid}", tags=["other"]) for i in range(6)]
    wanted = video(f"sg-want-{uid}", tags=["cooking"])
    keen = _utc(full, preferences=pb.Preferences(tag_weights={"cooking": 2.0}))
    setup(stub, [keen], [*fillers, wanted])
    now = datetime.now(UTC)
    end = now + timedelta(days=2)
    run = stub.AutoDistribute(
        svc.AutoDistributeRequest(
            mode=svc.AUTO_DISTRIBUTE_MODE_SCHEDULE,
            channel_ids=[full],
            video_ids=[v.id for v in fillers],
            horizon_start=dt_to_ts(now),
            horizon_end=dt_to_ts(end),
            time_limit_seconds=10,
        )
    )
    assert run.assignments and len(run.assignments) < len(fillers)  # every slot is held
    (option,) = stub.SuggestPlacements(
        svc.SuggestPlacementsRequest(
            video_id=wanted.id, channel_ids=[full], horizon_end=dt_to_ts(end)
        )
    ).placements
    earliest = min(run.assignments, key=lambda a: a.scheduled_at.ToDatetime(UTC))
    assert option.displaces == earliest.id and option.scheduled_at == earliest.scheduled_at
    assert option.value == 12_000 > earliest.score


def test_bad_requests_name_the_field(server: ServerHandle, uid: str):
    stub = server.stub
    vid = f"sg-bad-{uid}"
    setup(stub, [_utc(f"sg-bad-ch-{uid}")], [video(vid)])
    cases = [
        (svc.SuggestPlacementsRequest(), "video_id"),
        (svc.SuggestPlacementsRequest(video_id="bad id"), "video_id"),
        (svc.SuggestPlacementsRequest(video_id=vid, limit=51), "limit"),
        (svc.SuggestPlacementsRequest(video_id=vid, limit=-1), "limit"),
        (svc.SuggestPlacementsRequest(video_id=vid, channel_ids=["no such!"]), "channel_ids[0]"),
        (
            svc.SuggestPlacementsRequest(
                video_id=vid, horizon_end=dt_to_ts(datetime.now(UTC) - timedelta(hours=1))
            ),
            "horizon_end",
        ),
        (
            svc.SuggestPlacementsRequest(
                video_id=vid, horizon_end=dt_to_ts(datetime.now(UTC) + timedelta(days=63))
            ),
            "horizon_end",
        ),
    ]
    for request, field in cases:
        failure = expect_error(INVALID, stub.SuggestPlacements, request)
        assert field in failure.fields, (request, failure.fields)
    missing = expect_error(
        grpc.StatusCode.NOT_FOUND,
        stub.SuggestPlacements,
        svc.SuggestPlacementsRequest(video_id=vid, channel_ids=[f"sg-bad-ch-{uid}", "ghost"]),
    )
    assert missing.reason == "NOT_FOUND" and "ghost" in missing.message, missing


def test_the_lean_slot_read_equals_the_full_holders_read(migrated):
    """`slot_instants_and_weakest` against `slot_holders` with the displaceable holder chosen
    in Python (the path SuggestPlacements took before), on every state and method, with ties
    on score and rows outside both windows."""
    rng = random.Random(13)
    base = datetime(2030, 1, 1, tzinfo=UTC)
    channels = ["c0", "c1", "c2", "c3", "empty"]

    def seed(session):
        for cid in [*channels, "other"]:
            session.add(models.Channel(id=cid, timezone="UTC", config={}))
        n = 0
        for cid in [*channels[:4], "other"]:
            for hour in rng.sample(range(6 * 24), 40):
                vid = f"v{n}"
                session.add(models.Video(id=vid, source_url=f"https://x.test/{vid}", title="t"))
                session.flush()
                session.add(
                    models.Distribution(
                        id=f"d{n:03}",
                        video_id=vid,
                        channel_id=cid,
                        source_url=f"https://x.test/{vid}",
                        method=rng.choice(list(DistributionMethod)),
                        state=rng.choice(list(DistributionState)),
                        scheduled_at=base + timedelta(hours=hour),
                        score=rng.choice([100, 200, 300]),
                    )
                )
                n += 1

    migrated.transaction(seed)
    lo, hi = base + timedelta(hours=12), base + timedelta(days=5)
    since, until = base + timedelta(days=1), base + timedelta(days=4)
    auto = (DistributionMethod.AUTO_FILTER, DistributionMethod.AUTO_SCHEDULE)
    not_leased = (DistributionState.ASSIGNED, DistributionState.SCHEDULED)

    def read(repos):
        old_taken: dict[str, list[datetime]] = {}
        old_weakest: dict[str, tuple[datetime, str, int]] = {}
        for cid, at, row_id, method, state, score in repos.wide.slot_holders(channels, lo, hi):
            old_taken.setdefault(cid, []).append(at)
            if method in auto and state in not_leased and since <= at < until:
                best = old_weakest.get(cid)
                if best is None or (score, at) < (best[2], best[0]):
                    old_weakest[cid] = (at, row_id, score)
        new_taken: dict[str, list[datetime]] = {}
        new_weakest: dict[str, tuple[datetime, str, int]] = {}
        for cid, at, row_id, score in repos.wide.slot_instants_and_weakest(
            channels, lo, hi, since, until
        ):
            if row_id is None:
                new_taken.setdefault(cid, []).append(at)
            else:
                assert cid not in new_weakest
                new_weakest[cid] = (at, row_id, score)
        sort = {cid: sorted(ats) for cid, ats in old_taken.items()}
        return sort, old_weakest, {c: sorted(a) for c, a in new_taken.items()}, new_weakest

    old_taken, old_weakest, new_taken, new_weakest = migrated.unit_of_work(read, readonly=True)
    assert set(old_taken) == {"c0", "c1", "c2", "c3"} and set(old_weakest) == set(old_taken)
    assert new_taken == old_taken
    assert new_weakest == old_weakest
