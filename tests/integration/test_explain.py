"""Explain against the real server and database, on both databases: duplicates in bulk, the
cache of parsed channel configurations, and a constant number of statements per call."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from sqlalchemy import event, update

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from persistence.database import Database
from server.api import converters
from server.usecases import explain
from server.usecases.errors import NotFound
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error

SLOT = datetime(2031, 1, 6, 9, tzinfo=UTC)


def _explain(server: Any, video_ids: list[str], channel_ids: list[str]) -> list[Any]:
    request = svc.ExplainRequest(video_ids=video_ids, channel_ids=channel_ids)
    return list(server.stub.Explain(request).pairs)


def test_explain_sees_a_channel_config_change_at_once(server, uid):
    cid, vid = f"c-{uid}", f"v-{uid}"
    setup(server.stub, [channel(cid)], [video(vid, duration_seconds=90.0)])
    assert _explain(server, [vid], [cid])[0].eligible
    strict = channel(cid, filters=pb.ContentFilters(max_duration_seconds=60, languages=["de"]))
    server.stub.UpsertChannel(svc.UpsertChannelRequest(channel=strict))
    pair = _explain(server, [vid], [cid])[0]
    assert not pair.eligible
    assert list(pair.failed_filters) == ["max_duration_seconds", "languages"]
    # And back: a TRIM makes the long video eligible with the transformation it needs.
    fixed = channel(
        cid,
        filters=pb.ContentFilters(max_duration_seconds=60),
        transformations=[pb.Transformation(kind=pb.TRANSFORMATION_KIND_TRIM)],
    )
    server.stub.UpsertChannel(svc.UpsertChannelRequest(channel=fixed))
    pair = _explain(server, [vid], [cid])[0]
    assert pair.eligible and list(pair.failed_filters) == []
    assert [(t.kind, t.trim_seconds) for t in pair.transformations] == [
        (pb.TRANSFORMATION_KIND_TRIM, 60)
    ]


def test_explain_reports_each_pairs_duplicate_in_request_order(server, uid):
    cids = [f"c{i}-{uid}" for i in range(4)]
    vid, twin, other = f"v-{uid}", f"twin-{uid}", f"o-{uid}"
    source = f"https://cdn.example.com/shared/{uid}.mp4"
    setup(
        server.stub,
        [channel(c) for c in cids],
        [video(vid, source_url=source), video(twin, source_url=source), video(other)],
    )
    by_video = _assign(server, vid, cids[0])
    by_source = _assign(server, twin, cids[1])  # same source URL, another video id
    cancelled = _assign(server, vid, cids[2])
    server.stub.CancelDistribution(svc.CancelDistributionRequest(id=cancelled.id))
    order = [cids[3], cids[1], cids[0], cids[2]]
    pairs = _explain(server, [vid, other, twin], order)
    assert [(p.video_id, p.channel_id) for p in pairs] == [
        (v, c) for v in (vid, other, twin) for c in order
    ]
    duplicates = {(p.video_id, p.channel_id): p.duplicate_of for p in pairs}
    assert duplicates[(vid, cids[0])] == by_video.id
    assert duplicates[(vid, cids[1])] == by_source.id
    assert duplicates[(twin, cids[0])] == by_video.id
    assert duplicates[(twin, cids[1])] == by_source.id
    assert duplicates[(vid, cids[2])] == ""  # cancelled: no longer live
    assert all(duplicates[(other, c)] == "" for c in cids)
    assert all(duplicates[(v, cids[3])] == "" for v in (vid, twin))


def test_explain_without_channels_covers_every_channel_in_id_order(server, uid):
    cids = [f"zz-{uid}-{i}" for i in (2, 0, 1)]
    vid = f"v-{uid}"
    setup(server.stub, [channel(c) for c in cids], [video(vid)])
    d = _assign(server, vid, cids[0])
    pairs = _explain(server, [vid], [])
    ids = [p.channel_id for p in pairs]
    assert ids == sorted(ids) and set(cids) <= set(ids)
    assert {p.channel_id: p.duplicate_of for p in pairs}[cids[0]] == d.id


def test_explain_answers_not_found_for_the_first_missing_id(server, uid):
    cid, vid = f"c-{uid}", f"v-{uid}"
    setup(server.stub, [channel(cid)], [video(vid)])
    missing_video = svc.ExplainRequest(video_ids=[vid, f"nope-{uid}"], channel_ids=[cid])
    err = expect_error(grpc.StatusCode.NOT_FOUND, server.stub.Explain, missing_video)
    assert f"nope-{uid}" in err.message
    missing_channel = svc.ExplainRequest(video_ids=[vid], channel_ids=[cid, f"x{uid}", f"y{uid}"])
    err = expect_error(grpc.StatusCode.NOT_FOUND, server.stub.Explain, missing_channel)
    assert f"x{uid}" in err.message


def _assign(server: Any, vid: str, cid: str) -> pb.Distribution:
    result = server.stub.Assign(svc.AssignRequest(video_id=vid, channel_ids=[cid])).results[0]
    assert result.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, result.reason
    return result.distribution


# --- statements per call ------------------------------------------------------------------


@pytest.fixture
def db(migrated: Database) -> Database:
    migrated.transaction(_seed)
    return migrated


def _seed(session: Any) -> None:
    config = converters.channel_config(
        channel("x", filters=pb.ContentFilters(max_duration_seconds=60, exclude_tags=["news"]))
    )
    for i in range(200):
        session.add(models.Channel(id=f"c{i:03d}", timezone="UTC", config=config))
    for vid in ("v", "w"):
        session.add(models.Video(id=vid, source_url=f"https://x.test/{vid}", tags=["cooking"]))
    session.flush()
    # A live distribution on every tenth channel, so that the duplicate query finds some.
    for i in range(0, 200, 10):
        session.add(
            models.Distribution(
                id=str(uuid.uuid4()),
                video_id="v",
                channel_id=f"c{i:03d}",
                source_url="https://x.test/v",
                method="MANUAL",
                state="SCHEDULED",
                scheduled_at=SLOT + timedelta(hours=i),
            )
        )


def _statements(db: Database, command: explain.ExplainCommand) -> tuple[int, int]:
    """(statements run, pairs answered) for one Explain."""
    count = 0

    def on_execute(*_args: Any) -> None:
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        pairs = db.unit_of_work(lambda r: explain.explain(r, command), readonly=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    return count, len(pairs)


def test_explain_runs_as_many_statements_for_200_channels_as_for_20(db):
    ids = [f"c{i:03d}" for i in range(200)]
    few = explain.ExplainCommand(("v",), tuple(ids[:20]))
    many = explain.ExplainCommand(("v", "w"), tuple(ids))
    every = explain.ExplainCommand(("v", "w"), ())
    # The first call parses every configuration: one more statement reads them all.
    cold = _statements(db, every)
    counts = [_statements(db, c) for c in (few, many, every)]
    assert [pairs for _, pairs in counts] == [20, 400, 400]
    assert counts[0][0] == counts[1][0] == counts[2][0] == cold[0] - 1
    assert counts[0][0] <= 4  # the videos, the channels, the duplicates (and BEGIN on SQLite)
    # A new version of every channel: read again, still in one statement.
    db.transaction(lambda s: s.execute(update(models.Channel).values(platform="other")))
    assert _statements(db, many)[0] == cold[0]


@pytest.mark.parametrize(
    ("video_ids", "channel_ids", "field"),
    [
        (("v", "nope"), ("c000",), "video_ids[1]"),
        (("v",), ("c000", "c001", "nope", "nope2"), "channel_ids[2]"),
        (("nope",), ("nope2",), "video_ids[0]"),
    ],
)
def test_not_found_names_the_request_field(db, video_ids, channel_ids, field):
    command = explain.ExplainCommand(video_ids, channel_ids)
    with pytest.raises(NotFound) as raised:
        db.unit_of_work(lambda r: explain.explain(r, command), readonly=True)
    assert raised.value.field == field


def test_the_indexed_duplicate_read_answers_as_live_duplicates(db):
    """`live_duplicates_indexed` (Explain's read, built once, INDEXED BY on SQLite) against
    `live_duplicates`: video and source branches, an override, rows no longer live, several
    requested videos sharing one source URL."""

    def more(session: Any) -> None:
        session.add(models.Video(id="twin", source_url="https://x.test/v"))
        session.add(models.Video(id="src", source_url="https://x.test/src"))
        session.flush()
        rows = [
            ("src", "c001", "https://x.test/src", "SCHEDULED", False, 1),
            ("src", "c002", "https://x.test/src", "PUBLISHED", False, 2),
            ("src", "c003", "https://x.test/src", "CANCELLED", False, 3),
            ("twin", "c000", "https://x.test/v", "SCHEDULED", True, 4),  # an override
            ("twin", "c005", "https://x.test/v", "FAILED", False, 5),
        ]
        for vid, cid, source, state, override, hours in rows:
            session.add(
                models.Distribution(
                    id=str(uuid.uuid4()),
                    video_id=vid,
                    channel_id=cid,
                    source_url=source,
                    method="MANUAL",
                    state=state,
                    duplicate_override=override,
                    scheduled_at=SLOT + timedelta(days=30, hours=hours),
                )
            )

    db.transaction(more)
    videos = [
        ("v", "https://x.test/v"),
        ("twin", "https://x.test/v"),
        ("src", "https://x.test/src"),
        ("w", "https://x.test/w"),
    ]
    channels = [f"c{i:03d}" for i in range(0, 200, 3)] + ["c001", "c002", "c003", "c005", "c000"]
    for asked in (videos, videos[1:2], videos[2:]):
        old = db.unit_of_work(lambda r, a=asked: r.wide.live_duplicates(a, channels), readonly=True)
        new = db.unit_of_work(
            lambda r, a=asked: r.wide.live_duplicates_indexed(a, channels), readonly=True
        )
        assert new == old
    assert old  # the last case found some: the comparison is not between two empty answers
