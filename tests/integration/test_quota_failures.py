"""FailedOutcome.quota_pool_id over the real server, on SQLite and PostgreSQL: the attempt is not
charged, the distribution and every due publication of the pool's channels wait until the
window resets, and then they are leased again by themselves.

A rolling pool makes the reset short without touching the clock: its reset is 24 hours after
the oldest publication that keeps the last 24 hours full, here one made 24 h - 4 s ago.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import update

from allocator.quota_windows import calendar_window
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from persistence.database import Database
from persistence.enums import DistributionState
from server.api.converters import dt_to_ts, ts_to_dt
from tests.integration.test_quotas import LA, ROLLING, assign, hourly, pool
from tests.support.factories import setup
from tests.support.rpc import expect_error
from tests.support.servers import ServerHandle


def _due(stub, uid: str, cid: str, n: int) -> str:
    """A distribution of a new video on `cid` due now (forced two minutes into the past)."""
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2, seconds=n)
    result = assign(stub, f"qx-v{n}-{uid}", cid, when, force=True)
    assert result.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, result
    return str(result.distribution.id)


def _published_at(server: ServerHandle, distribution_id: str, at: datetime) -> None:
    """Makes a distribution one published at `at` (the API cannot write the past)."""
    db = Database(server.database_url)
    try:
        db.transaction(
            lambda s: s.execute(
                update(models.Distribution)
                .where(models.Distribution.id == distribution_id)
                .values(scheduled_at=at, state=DistributionState.PUBLISHED)
            )
        )
    finally:
        db.dispose()


def _lease(stub, channel_ids: list[str]) -> list[pb.Distribution]:
    leases = stub.LeasePublications(
        svc.LeasePublicationsRequest(
            worker_id="w-quota", limit=50, lease_seconds=60, channel_ids=channel_ids
        )
    ).leases
    return [lease for lease in leases]


def _report(stub, lease, pool_id: str, **fields):
    return stub.ReportPublication(
        svc.ReportPublicationRequest(
            distribution_id=lease.distribution.id,
            lease_token=lease.lease_token,
            failed=svc.FailedOutcome(
                error="quotaExceeded", retryable=True, quota_pool_id=pool_id, **fields
            ),
        )
    )


def test_a_quota_failure_holds_the_pool_until_its_reset(server: ServerHandle, uid: str) -> None:
    stub = server.stub
    pid = pool(stub, f"qx-{uid}", 1, ROLLING, "").id
    stranger = pool(stub, f"qx-other-{uid}", 5).id
    a, b = hourly(f"qx-a-{uid}", [pid], "UTC"), hourly(f"qx-b-{uid}", [pid], "UTC")
    outside = hourly(f"qx-c-{uid}", [], "UTC")
    setup(stub, [a, b, outside], [])
    old = assign(stub, f"qx-old-{uid}", a.id, datetime(2027, 8, 1, 9, tzinfo=UTC)).distribution
    oldest = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=24) + timedelta(seconds=5)
    _published_at(server, old.id, oldest)
    first, second, free = _due(stub, uid, a.id, 1), _due(stub, uid, b.id, 2), None
    free = _due(stub, uid, outside.id, 3)
    lease = next(x for x in _lease(stub, [a.id]) if x.distribution.id == first)

    # Bad reports change nothing: an unknown pool, a pool the channel does not name.
    failure = expect_error(grpc.StatusCode.INVALID_ARGUMENT, _report, stub, lease, f"nope-{uid}")
    assert failure.fields == ["failed.quota_pool_id"]
    failure = expect_error(grpc.StatusCode.FAILED_PRECONDITION, _report, stub, lease, stranger)
    assert "failed.quota_pool_id" in failure.message
    failure = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, _report, stub, lease, pid, channel_unavailable=True
    )
    assert failure.fields == ["failed.quota_pool_id"]
    assert stub.GetDistribution(svc.GetDistributionRequest(id=first)).state == (
        pb.DISTRIBUTION_STATE_PUBLISHING
    )

    def due_now() -> int:
        return stub.Stats(svc.StatsRequest(channel_ids=[a.id, b.id])).due_now

    assert due_now() == 1  # `second`: `first` is leased
    reported = _report(stub, lease, pid)
    reset = ts_to_dt(stub.GetQuotaPool(svc.GetQuotaPoolRequest(id=pid)).exhausted_until)
    assert reset == oldest + timedelta(hours=24)
    assert reported.state == pb.DISTRIBUTION_STATE_SCHEDULED
    assert reported.attempts == 0 and ts_to_dt(reported.next_attempt_at) == reset
    decision = stub.ListDecisions(svc.ListDecisionsRequest(distribution_id=first)).decisions[0]
    assert decision.kind == pb.DECISION_KIND_QUOTA_EXHAUSTED
    assert decision.details["pool_id"] == pid and "not charged" in decision.reason

    # Until the reset nothing of the pool's channels is leased, nor counted as due; other
    # channels' work is.
    assert [x.distribution.id for x in _lease(stub, [a.id, b.id, outside.id])] == [free]
    assert due_now() == 0
    while datetime.now(UTC) < reset + timedelta(milliseconds=200):
        time.sleep(0.2)
    assert due_now() == 2
    back = {x.distribution.id: x for x in _lease(stub, [a.id, b.id])}
    assert set(back) == {first, second}
    assert back[first].distribution.attempts == 0


def test_a_calendar_pool_is_exhausted_until_the_next_local_midnight(
    server: ServerHandle, uid: str
) -> None:
    stub = server.stub
    pid = pool(stub, f"qy-{uid}", 10).id
    cid = f"qy-{uid}"
    setup(stub, [hourly(cid, [pid], "UTC")], [])
    did = _due(stub, uid, cid, 1)
    lease = next(x for x in _lease(stub, [cid]) if x.distribution.id == did)
    before = datetime.now(UTC)
    _report(stub, lease, pid)
    after = datetime.now(UTC)
    until = ts_to_dt(stub.GetQuotaPool(svc.GetQuotaPoolRequest(id=pid)).exhausted_until)
    assert until in {calendar_window(before, LA)[1], calendar_window(after, LA)[1]}
    # The search of a new placement passes over the exhausted time as well.
    placed = assign(stub, f"qy-v2-{uid}", cid)
    assert ts_to_dt(placed.distribution.scheduled_at) >= until
    stub.UpsertQuotaPool(
        svc.UpsertQuotaPoolRequest(
            pool=pb.QuotaPool(id=pid, limit=10, window=pb.QUOTA_WINDOW_CALENDAR_DAY, timezone=LA)
        )
    )
    # Replacing the pool keeps the platform's word.
    assert stub.GetQuotaPool(svc.GetQuotaPoolRequest(id=pid)).exhausted_until == dt_to_ts(until)
