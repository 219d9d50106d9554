"""Missed slots on both databases: past its slot and grace, a publication is replanned,
cancelled or released late by its channel's policy, once (two sweepers at a time included),
by the lease path or the background sweep; a backlog after an outage never bursts."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import duration_pb2
from sqlalchemy import update

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from persistence.database import Database
from server.api.converters import dt_to_ts
from server.usecases import missed_slots
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error
from tests.support.servers import ServerHandle, start_server

HOURLY = tuple(f"{h:02d}:00" for h in range(24))
REPLANNED = pb.DECISION_KIND_MISSED_SLOT_REPLANNED


def _channel(cid: str, action: int = 0, grace_s: int | None = None) -> pb.Channel:
    message = channel(cid, times=HOURLY, timezone="UTC")
    message.missed_slot_policy.action = action
    if grace_s is not None:
        message.missed_slot_policy.grace.CopyFrom(duration_pb2.Duration(seconds=grace_s))
    return message


def _forced(stub, uid: str, cid: str, ago: timedelta, n: int = 1, *, url: str) -> list[str]:
    """`n` distributions on `cid` at now - ago (one minute apart), never leased: forced onto
    future instants, then moved into the past in the database (the API refuses a past slot)."""
    now = datetime.now(UTC).replace(microsecond=0)
    ids = []
    for i in range(n):
        vid = f"ms-v-{cid}-{i}-{uid}"
        setup(stub, [], [video(vid)])
        future = now + timedelta(days=100, minutes=i)
        result = stub.Assign(
            svc.AssignRequest(
                video_id=vid, channel_ids=[cid], force=True, scheduled_at=dt_to_ts(future)
            )
        ).results[0]
        assert result.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, result
        ids.append(result.distribution.id)
    db = Database(url)
    try:
        db.transaction(
            lambda s: [
                s.execute(
                    update(models.Distribution)
                    .where(models.Distribution.id == did)
                    .values(scheduled_at=now - ago + timedelta(minutes=i))
                )
                for i, did in enumerate(ids)
            ]
        )
    finally:
        db.dispose()
    return ids


def _lease(stub, cid: str) -> list[str]:
    leases = stub.LeasePublications(
        svc.LeasePublicationsRequest(worker_id="w", limit=50, lease_seconds=60, channel_ids=[cid])
    ).leases
    return [lease.distribution.id for lease in leases]


def _get(stub, did: str) -> pb.Distribution:
    return stub.GetDistribution(svc.GetDistributionRequest(id=did))


def _kinds(stub, did: str) -> list[int]:
    decisions = stub.ListDecisions(svc.ListDecisionsRequest(distribution_id=did)).decisions
    return [d.kind for d in decisions]


def test_past_its_grace_a_publication_is_replanned_not_leased(server: ServerHandle, uid: str):
    stub = server.stub
    cid = f"ms-re-{uid}"
    setup(stub, [_channel(cid)], [])
    (late,) = _forced(stub, uid, cid, timedelta(hours=2), url=server.database_url)
    (fresh,) = _forced(stub, f"f{uid}", cid, timedelta(minutes=30), url=server.database_url)
    assert _lease(stub, cid) == [fresh], "within the grace (1 h) it is leased as usual"
    moved = _get(stub, late)
    now = datetime.now(UTC)
    assert moved.state == pb.DISTRIBUTION_STATE_SCHEDULED
    assert now < moved.scheduled_at.ToDatetime(UTC) <= now + timedelta(hours=1)
    assert REPLANNED in _kinds(stub, late)


def test_cancel_and_publish_late_policies(server: ServerHandle, uid: str):
    stub = server.stub
    gone, late = f"ms-cancel-{uid}", f"ms-late-{uid}"
    setup(
        stub,
        [
            _channel(gone, pb.MISSED_SLOT_ACTION_CANCEL, grace_s=600),
            _channel(late, pb.MISSED_SLOT_ACTION_PUBLISH_LATE, grace_s=600),
        ],
        [],
    )
    (cancelled,) = _forced(stub, uid, gone, timedelta(minutes=20), url=server.database_url)
    backlog = _forced(stub, uid, late, timedelta(hours=3), n=3, url=server.database_url)
    assert _lease(stub, gone) == []
    assert _get(stub, cancelled).state == pb.DISTRIBUTION_STATE_CANCELLED
    assert pb.DECISION_KIND_MISSED_SLOT_CANCELLED in _kinds(stub, cancelled)
    assert _lease(stub, late) == [], "handled first, not handed out at once"
    releases = [_get(stub, did).next_attempt_at.ToDatetime(UTC) for did in backlog]
    # One late post per slot interval of the schedule (hourly: one an hour), oldest first.
    assert [b - a for a, b in itertools.pairwise(releases)] == [timedelta(hours=1)] * 2
    assert _lease(stub, late) == [backlog[0]]
    assert all(pb.DECISION_KIND_MISSED_SLOT_LATE in _kinds(stub, did) for did in backlog)


def test_a_backlog_after_an_outage_takes_free_slots_one_by_one(server: ServerHandle, uid: str):
    stub = server.stub
    cid = f"ms-out-{uid}"
    setup(stub, [_channel(cid)], [])
    backlog = _forced(stub, uid, cid, timedelta(hours=5), n=6, url=server.database_url)
    back = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(
            channel_id=cid, available=False, until=dt_to_ts(back), reason="outage"
        )
    )
    # (The server's own sweep may get there first: the outcome is the same.)
    missed_slots_sweep(server)
    slots = [_get(stub, did).scheduled_at.ToDatetime(UTC) for did in backlog]
    # Oldest first, each in the next free hourly slot after the outage: never two at once.
    assert slots == sorted(slots) and len(set(slots)) == len(slots)
    assert slots[0] >= back and slots[-1] - slots[0] == timedelta(hours=len(slots) - 1)


def test_two_sweepers_at_once_handle_each_publication_once(server: ServerHandle, uid: str):
    stub = server.stub
    cid = f"ms-race-{uid}"
    setup(stub, [_channel(cid)], [])
    backlog = _forced(stub, uid, cid, timedelta(hours=4), n=12, url=server.database_url)
    db = Database(server.database_url)
    counts: list[int] = []
    try:
        threads = [
            threading.Thread(target=lambda: counts.append(db.unit_of_work(missed_slots.sweep)))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        db.dispose()
    assert len(counts) == 2  # (the server's own sweep may have taken some: each once still)
    for did in backlog:
        assert _kinds(stub, did).count(REPLANNED) == 1
    slots = [_get(stub, did).scheduled_at.seconds for did in backlog]
    assert len(set(slots)) == len(slots)


def test_the_background_sweep_handles_them_without_a_worker(fresh_database_url: str, uid: str):
    handle = start_server(fresh_database_url, missed_slot_sweep_seconds=0.2)
    try:
        stub = handle.stub
        cid = f"ms-bg-{uid}"
        setup(stub, [_channel(cid, grace_s=0)], [])
        (late,) = _forced(stub, uid, cid, timedelta(minutes=5), url=fresh_database_url)
        deadline = time.monotonic() + 10
        while REPLANNED not in _kinds(stub, late) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert REPLANNED in _kinds(stub, late)
    finally:
        handle.close()


def test_bad_missed_slot_policies_name_the_field(server: ServerHandle, uid: str):
    for policy, field in [
        (pb.MissedSlotPolicy(action=9), "channel.missed_slot_policy.action"),
        (
            pb.MissedSlotPolicy(grace=duration_pb2.Duration(seconds=8 * 86400)),
            "channel.missed_slot_policy.grace",
        ),
    ]:
        message = _channel(f"ms-bad-{uid}")
        message.missed_slot_policy.CopyFrom(policy)
        error = expect_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            server.stub.UpsertChannel,
            svc.UpsertChannelRequest(channel=message),
        )
        assert error.fields == [field]


def missed_slots_sweep(server: ServerHandle) -> int:
    """One sweep on the server's database, as a replica's background thread runs it."""
    db = Database(server.database_url)
    try:
        return db.unit_of_work(missed_slots.sweep)
    finally:
        db.dispose()
