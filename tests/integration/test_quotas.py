"""Quota pools over the real server, on SQLite and PostgreSQL: the pools themselves, channels'
quota_pool_ids, and every path that places a live distribution keeping within them (Assign's
search, explicit and forced slots, calendar days across DST, rolling 24 hours, the missed-slot
replan and Retry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import duration_pb2

from allocator.quota_windows import calendar_window
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts, ts_to_dt
from server.usecases import missed_slots
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error
from tests.support.servers import ServerHandle

HOURLY = tuple(f"{h:02d}:00" for h in range(24))
CALENDAR = pb.QUOTA_WINDOW_CALENDAR_DAY
ROLLING = pb.QUOTA_WINDOW_ROLLING_24H
LA = "America/Los_Angeles"


def pool(
    stub, pool_id: str, limit: int, window: int = CALENDAR, timezone: str = LA
) -> pb.QuotaPool:
    """Creates (or replaces) a quota pool."""
    return stub.UpsertQuotaPool(
        svc.UpsertQuotaPoolRequest(
            pool=pb.QuotaPool(
                id=pool_id,
                display_name=f"Pool {pool_id}",
                limit=limit,
                window=window,
                timezone=timezone,
            )
        )
    )


def hourly(cid: str, pools: list[str], timezone: str = "Europe/Berlin", **fields) -> pb.Channel:
    """A channel posting every hour of every day, counting against `pools`."""
    message = channel(cid, times=HOURLY, timezone=timezone, **fields)
    message.quota_pool_ids.extend(pools)
    return message


def assign(stub, vid: str, cid: str, at: datetime | None = None, force: bool = False):
    """One Assign of a new video onto one channel; its result."""
    setup(stub, [], [video(vid)])
    request = svc.AssignRequest(video_id=vid, channel_ids=[cid], force=force)
    if at is not None:
        request.scheduled_at.CopyFrom(dt_to_ts(at))
    return stub.Assign(request).results[0]


def _next_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


# --- the pools --------------------------------------------------------------------------------


def test_pools_are_created_read_replaced_and_listed(server: ServerHandle, uid: str) -> None:
    stub = server.stub
    created = pool(stub, f"qa-{uid}", 3)
    assert (created.limit, created.window, created.timezone) == (3, CALENDAR, LA)
    assert created.create_time.seconds > 0 and not created.HasField("exhausted_until")
    replaced = pool(stub, f"qa-{uid}", 5, ROLLING, "")
    assert (replaced.limit, replaced.window, replaced.timezone) == (5, ROLLING, "")
    assert replaced.create_time == created.create_time
    assert stub.GetQuotaPool(svc.GetQuotaPoolRequest(id=f"qa-{uid}")) == replaced
    for i in range(3):
        pool(stub, f"qb-{uid}-{i}", 1)
    seen, token = [], ""
    while True:
        page = stub.ListQuotaPools(svc.ListQuotaPoolsRequest(page_size=2, page_token=token))
        seen += [p.id for p in page.pools]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(seen)
    assert {f"qa-{uid}", *(f"qb-{uid}-{i}" for i in range(3))} <= set(seen)


def test_bad_pools_are_refused_by_field(server: ServerHandle, uid: str) -> None:
    stub = server.stub
    cases = {
        "pool.limit": pb.QuotaPool(id=f"qx-{uid}", limit=0, window=CALENDAR),
        "pool.window": pb.QuotaPool(id=f"qx-{uid}", limit=1),
        "pool.timezone": pb.QuotaPool(id=f"qx-{uid}", limit=1, window=CALENDAR, timezone="Mars"),
        "pool.id": pb.QuotaPool(id="bad id", limit=1, window=CALENDAR),
    }
    for field, message in cases.items():
        failure = expect_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.UpsertQuotaPool,
            svc.UpsertQuotaPoolRequest(pool=message),
        )
        assert failure.fields == [field], failure
    expect_error(grpc.StatusCode.NOT_FOUND, stub.GetQuotaPool, svc.GetQuotaPoolRequest(id=uid))
    failure = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, stub.GetQuotaPool, svc.GetQuotaPoolRequest(id="")
    )
    assert failure.fields == ["id"]
    expect_error(
        grpc.StatusCode.NOT_FOUND, stub.GetQuotaPool, svc.GetQuotaPoolRequest(id=f"qx-{uid}")
    )


def test_channel_quota_pool_ids_are_validated_and_round_trip(
    server: ServerHandle, uid: str
) -> None:
    stub = server.stub
    a, b = pool(stub, f"qc-a-{uid}", 1).id, pool(stub, f"qc-b-{uid}", 1).id
    cid = f"qc-{uid}"
    bad = {
        "channel.quota_pool_ids[1]": [a, f"nope-{uid}"],
        "channel.quota_pool_ids[2]": [a, b, a],
        "channel.quota_pool_ids": [f"p{i}" for i in range(9)],
    }
    for field, ids in bad.items():
        failure = expect_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.UpsertChannel,
            svc.UpsertChannelRequest(channel=hourly(cid, ids)),
        )
        assert failure.fields == [field], failure
    expect_error(grpc.StatusCode.NOT_FOUND, stub.GetChannel, svc.GetChannelRequest(id=cid))
    created = stub.UpsertChannel(svc.UpsertChannelRequest(channel=hourly(cid, [b, a])))
    assert list(created.quota_pool_ids) == [b, a]
    stub.UpsertChannel(svc.UpsertChannelRequest(channel=hourly(cid, [a])))
    assert list(stub.GetChannel(svc.GetChannelRequest(id=cid)).quota_pool_ids) == [a]
    listed = stub.ListChannels(svc.ListChannelsRequest(page_size=1000)).channels
    assert [list(c.quota_pool_ids) for c in listed if c.id == cid] == [[a]]


# --- Assign -------------------------------------------------------------------------------


def test_assign_skips_a_full_calendar_day_of_a_pool_in_another_zone(
    server: ServerHandle, uid: str
) -> None:
    """A pool in Los Angeles shared by a Berlin and a Tokyo channel: once the LA day of the next
    slot holds `limit`, the next free slot is the first one of the next LA day."""
    stub = server.stub
    pid = pool(stub, f"qd-{uid}", 2).id
    berlin, tokyo = hourly(f"qd-be-{uid}", [pid]), hourly(f"qd-tk-{uid}", [pid], "Asia/Tokyo")
    setup(stub, [berlin, tokyo], [])
    first = assign(stub, f"qd-v1-{uid}", berlin.id)
    second = assign(stub, f"qd-v2-{uid}", tokyo.id)
    h1 = ts_to_dt(first.distribution.scheduled_at)
    assert ts_to_dt(second.distribution.scheduled_at) == h1
    _, day_end = calendar_window(h1, LA)
    third = assign(stub, f"qd-v3-{uid}", berlin.id)
    assert third.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, third
    assert ts_to_dt(third.distribution.scheduled_at) == day_end  # LA midnight, a whole hour


def test_explicit_slots_count_in_los_angeles_days_across_dst(
    server: ServerHandle, uid: str
) -> None:
    """March 14, 2027 has 23 hours in Los Angeles (08:00Z to 07:00Z): both ends are one window,
    the hour after is the next; a slot in a full window is refused naming the pool."""
    stub = server.stub
    pid = pool(stub, f"qs-{uid}", 2).id
    tokyo = hourly(f"qs-tk-{uid}", [pid], "Asia/Tokyo")
    setup(stub, [tokyo], [])
    at = lambda *args: datetime(*args, tzinfo=UTC)  # noqa: E731
    for n, when in enumerate([at(2027, 3, 14, 8), at(2027, 3, 15, 6)]):
        result = assign(stub, f"qs-v{n}-{uid}", tokyo.id, when)
        assert result.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, result
    refused = assign(stub, f"qs-v2-{uid}", tokyo.id, at(2027, 3, 14, 12))
    assert refused.outcome == svc.ASSIGN_OUTCOME_REJECTED_QUOTA, refused
    assert pid in refused.reason and "2/2" not in refused.reason and "3/2" in refused.reason
    # The hour before is the LA day before (PST), the hour after the next one (PDT).
    for n, when in enumerate([at(2027, 3, 14, 7), at(2027, 3, 15, 7)]):
        result = assign(stub, f"qs-w{n}-{uid}", tokyo.id, when)
        assert result.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, result
    decisions = stub.ListDecisions(svc.ListDecisionsRequest(video_id=f"qs-v2-{uid}")).decisions
    assert [d.kind for d in decisions] == [pb.DECISION_KIND_REJECTED]
    assert decisions[0].details["code"] == "QUOTA"


def test_force_overdraws_and_its_decision_names_the_pool(server: ServerHandle, uid: str) -> None:
    stub = server.stub
    pid = pool(stub, f"qf-{uid}", 1).id
    other = pool(stub, f"qf2-{uid}", 5).id
    cid = f"qf-{uid}"
    setup(stub, [hourly(cid, [other, pid])], [])
    when = datetime(2027, 2, 1, 12, tzinfo=UTC)
    assert assign(stub, f"qf-v1-{uid}", cid, when).outcome == svc.ASSIGN_OUTCOME_ASSIGNED
    forced = assign(stub, f"qf-v2-{uid}", cid, when + timedelta(hours=1), force=True)
    assert forced.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, forced
    assert f"overdrew quota pool {pid}" in forced.reason and other not in forced.reason
    decisions = stub.ListDecisions(svc.ListDecisionsRequest(video_id=f"qf-v2-{uid}")).decisions
    assert [d.kind for d in decisions] == [pb.DECISION_KIND_OVERRIDE]
    assert f"overdrew quota pool {pid}" in decisions[0].reason
    assert any("quota:" in o for o in decisions[0].details["overrides"])


def test_rolling_pools_hold_every_24_hours(server: ServerHandle, uid: str) -> None:
    stub = server.stub
    pid = pool(stub, f"qr-{uid}", 2, ROLLING, "").id
    cid = f"qr-{uid}"
    setup(stub, [hourly(cid, [pid], "UTC")], [])
    t0 = datetime(2027, 1, 10, 10, tzinfo=UTC)
    for n, hours in enumerate([0, 20]):
        result = assign(stub, f"qr-v{n}-{uid}", cid, t0 + timedelta(hours=hours))
        assert result.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, result
    # 23 h after t0: [t0, t0 + 24 h) would hold three. 24 h after: no 24 hours hold three.
    refused = assign(stub, f"qr-v2-{uid}", cid, t0 + timedelta(hours=23))
    assert refused.outcome == svc.ASSIGN_OUTCOME_REJECTED_QUOTA and pid in refused.reason
    fine = assign(stub, f"qr-v3-{uid}", cid, t0 + timedelta(hours=24))
    assert fine.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, fine
    # The search: a rolling pool of one keeps each next placement 24 hours after the last.
    solo = pool(stub, f"qr1-{uid}", 1, ROLLING).id
    setup(stub, [hourly(f"qr1-{uid}", [solo], "UTC")], [])
    h1 = ts_to_dt(assign(stub, f"qr1-v1-{uid}", f"qr1-{uid}").distribution.scheduled_at)
    h2 = ts_to_dt(assign(stub, f"qr1-v2-{uid}", f"qr1-{uid}").distribution.scheduled_at)
    assert h2 == h1 + timedelta(hours=24)


def test_missed_slot_replan_passes_over_a_full_window(server: ServerHandle, uid: str) -> None:
    """A missed publication moves to the channel's next free slot whose LA day has room."""
    stub = server.stub
    pid = pool(stub, f"qm-{uid}", 1).id
    late = hourly(f"qm-a-{uid}", [pid], "UTC")
    late.missed_slot_policy.grace.CopyFrom(duration_pb2.Duration(seconds=0))
    other = hourly(f"qm-b-{uid}", [pid], "UTC")
    setup(stub, [late, other], [])
    # Far ahead, then into the past in the database (the API refuses a past slot).
    moved = assign(stub, f"qm-v1-{uid}", late.id, datetime(2027, 6, 1, 12, tzinfo=UTC))
    _move_into_the_past(server, moved.distribution.id, timedelta(hours=2))
    # The other channel takes the next hour's LA day (overdrawn: the missed one is in it too).
    h1 = _next_hour()
    assert assign(stub, f"qm-v2-{uid}", other.id, h1, force=True).distribution.id
    from persistence.database import Database

    db = Database(server.database_url)
    try:
        # The server's own sweeper may get there first: either way it is handled once.
        db.unit_of_work(lambda r: missed_slots.sweep(r))
    finally:
        db.dispose()
    got = stub.GetDistribution(svc.GetDistributionRequest(id=moved.distribution.id))
    assert got.state == pb.DISTRIBUTION_STATE_SCHEDULED
    assert ts_to_dt(got.scheduled_at) == calendar_window(h1, LA)[1]
    decisions = stub.ListDecisions(
        svc.ListDecisionsRequest(distribution_id=moved.distribution.id)
    ).decisions
    assert decisions[0].kind == pb.DECISION_KIND_MISSED_SLOT_REPLANNED


def _move_into_the_past(server: ServerHandle, distribution_id: str, ago: timedelta) -> None:
    from sqlalchemy import update

    from persistence import models
    from persistence.database import Database

    now = datetime.now(UTC).replace(microsecond=0)
    db = Database(server.database_url)
    try:
        db.transaction(
            lambda s: s.execute(
                update(models.Distribution)
                .where(models.Distribution.id == distribution_id)
                .values(scheduled_at=now - ago)
            )
        )
    finally:
        db.dispose()


def test_retry_moves_a_failed_distribution_out_of_a_full_window(
    server: ServerHandle, uid: str
) -> None:
    """A FAILED distribution counts nowhere; once its window filled up, Retry moves it to the
    channel's next slot whose window has room instead of back into its own."""
    stub = server.stub
    pid = pool(stub, f"qt-{uid}", 1).id
    mine, other = hourly(f"qt-a-{uid}", [pid], "UTC"), hourly(f"qt-b-{uid}", [pid], "UTC")
    mine.retry_policy.max_attempts = 1
    setup(stub, [mine, other], [])
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    did = assign(stub, f"qt-v1-{uid}", mine.id, when, force=True).distribution.id
    lease = next(
        x
        for x in stub.LeasePublications(
            svc.LeasePublicationsRequest(worker_id="w", limit=50, channel_ids=[mine.id])
        ).leases
        if x.distribution.id == did
    )
    failed = stub.ReportPublication(
        svc.ReportPublicationRequest(
            distribution_id=did,
            lease_token=lease.lease_token,
            failed=svc.FailedOutcome(error="boom", retryable=False),
        )
    )
    assert failed.state == pb.DISTRIBUTION_STATE_FAILED
    # Its window fills while it is FAILED (room: a failed one does not count).
    filler = assign(stub, f"qt-v2-{uid}", other.id, when + timedelta(seconds=30), force=True)
    assert "overdrew" not in filler.reason
    retried = stub.Retry(svc.RetryRequest(distribution_ids=[did])).retried[0]
    assert ts_to_dt(retried.scheduled_at) == calendar_window(when, LA)[1]
