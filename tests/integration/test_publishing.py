"""The publishing lifecycle against the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts, ts_to_dt
from server.worker.loop import Worker
from server.worker.publishers import FlakyPublisher, LocalPublisher
from tests.support.factories import channel, setup, video
from tests.support.rpc import expect_error
from tests.support.servers import start_server


def _policy(max_attempts=3, initial=0.0):
    return pb.RetryPolicy(
        max_attempts=max_attempts,
        initial_backoff=Duration(seconds=int(initial), nanos=int((initial % 1) * 1e9)),
    )


def make_due(stub, uid, *, channels=1, videos=1, policy=None, prefix="p"):
    """Channels and videos with one distribution per pair, all due now."""
    cs = [channel(f"{prefix}{i}-{uid}", retry_policy=policy or _policy()) for i in range(channels)]
    vs = [video(f"{prefix}v{j}-{uid}") for j in range(videos)]
    setup(stub, cs, vs)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    ids = []
    for j, v in enumerate(vs):
        res = stub.Assign(
            svc.AssignRequest(
                video_id=v.id,
                channel_ids=[c.id for c in cs],
                force=True,
                scheduled_at=dt_to_ts(base + timedelta(seconds=j)),
            )
        )
        assert all(r.outcome == svc.ASSIGN_OUTCOME_ASSIGNED for r in res.results), res
        ids += [r.distribution.id for r in res.results]
    return [c.id for c in cs], ids


def lease(stub, channel_ids, *, limit=10, seconds=60, worker="w1"):
    return list(
        stub.LeasePublications(
            svc.LeasePublicationsRequest(
                worker_id=worker, limit=limit, lease_seconds=seconds, channel_ids=channel_ids
            )
        ).leases
    )


def report_ok(stub, ls, ext="ext-1"):
    return stub.ReportPublication(
        svc.ReportPublicationRequest(
            distribution_id=ls.distribution.id,
            lease_token=ls.lease_token,
            published=svc.PublishedOutcome(external_id=ext, url=f"https://p.test/{ext}"),
        )
    )


def report_failed(stub, ls, *, retryable=True, outage=False, error="boom"):
    return stub.ReportPublication(
        svc.ReportPublicationRequest(
            distribution_id=ls.distribution.id,
            lease_token=ls.lease_token,
            failed=svc.FailedOutcome(error=error, retryable=retryable, channel_unavailable=outage),
        )
    )


def kinds(stub, distribution_id):
    ds = stub.ListDecisions(svc.ListDecisionsRequest(distribution_id=distribution_id)).decisions
    return [pb.DecisionKind.Name(d.kind).removeprefix("DECISION_KIND_") for d in reversed(ds)]


def test_lease_then_publish(server, uid):
    cids, [did] = make_due(server.stub, uid)
    [ls] = lease(server.stub, cids)
    assert ls.distribution.id == did and ls.idempotency_key == did
    assert ls.distribution.state == pb.DISTRIBUTION_STATE_PUBLISHING
    assert not ls.previous_attempt_unconfirmed
    assert lease(server.stub, cids) == [], "leased to one worker only"
    done = report_ok(server.stub, ls)
    assert done.state == pb.DISTRIBUTION_STATE_PUBLISHED and done.external_id == "ext-1"
    assert done.attempts == 1
    assert report_ok(server.stub, ls) == done, "the same report twice is harmless"
    assert kinds(server.stub, did) == ["OVERRIDE", "LEASED", "PUBLISHED"]


def test_not_due_work_is_not_leased(server, uid):
    c = channel(f"later-{uid}")
    setup(server.stub, [c], [video(f"later-{uid}")])
    server.stub.Assign(svc.AssignRequest(video_id=f"later-{uid}", channel_ids=[c.id]))
    assert lease(server.stub, [c.id]) == []


def test_lookahead_leases_posts_scheduled_ahead(server, uid):
    c = channel(f"ahead-{uid}")
    setup(server.stub, [c], [video(f"ahead-{uid}")])
    d = server.stub.Assign(svc.AssignRequest(video_id=f"ahead-{uid}", channel_ids=[c.id]))
    due_in = ts_to_dt(d.results[0].distribution.scheduled_at) - datetime.now(UTC)
    request = svc.LeasePublicationsRequest(worker_id="w", channel_ids=[c.id])
    if due_in > timedelta(minutes=2):  # the next slot may be seconds away
        request.lookahead.FromTimedelta(due_in - timedelta(minutes=1))
        assert not server.stub.LeasePublications(request).leases
    request.lookahead.FromTimedelta(due_in + timedelta(minutes=1))
    [ls] = server.stub.LeasePublications(request).leases
    assert ls.distribution.id == d.results[0].distribution.id
    request.lookahead.FromTimedelta(timedelta(days=8))
    err = expect_error(grpc.StatusCode.INVALID_ARGUMENT, server.stub.LeasePublications, request)
    assert err.fields == ["lookahead"]


def test_stale_or_unknown_token_changes_nothing(server, uid):
    cids, [did] = make_due(server.stub, uid)
    [ls] = lease(server.stub, cids)
    forged = svc.Lease(distribution=ls.distribution, lease_token="0" * 32)
    err = expect_error(grpc.StatusCode.FAILED_PRECONDITION, report_ok, server.stub, forged)
    assert "stale" in err.message
    got = server.stub.GetDistribution(svc.GetDistributionRequest(id=did))
    assert got.state == pb.DISTRIBUTION_STATE_PUBLISHING and got.attempts == 0


def test_retryable_failure_backs_off_then_gives_up(server, uid):
    cids, [did] = make_due(server.stub, uid, policy=_policy(max_attempts=2, initial=0))
    [ls] = lease(server.stub, cids)
    again = report_failed(server.stub, ls, error="503")
    assert again.state == pb.DISTRIBUTION_STATE_SCHEDULED and again.attempts == 1
    assert again.last_error == "503" and again.HasField("next_attempt_at")
    [ls2] = lease(server.stub, cids)
    assert ls2.lease_token != ls.lease_token
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, report_ok, server.stub, ls)
    final = report_failed(server.stub, ls2, error="503 again")
    assert final.state == pb.DISTRIBUTION_STATE_FAILED and final.attempts == 2
    assert kinds(server.stub, did)[-1] == "GAVE_UP"


def test_backoff_delays_the_next_lease(server, uid):
    cids, _ = make_due(server.stub, uid, policy=_policy(max_attempts=5, initial=60))
    [ls] = lease(server.stub, cids)
    before = datetime.now(UTC)
    again = report_failed(server.stub, ls)
    wait = (ts_to_dt(again.next_attempt_at) - before).total_seconds()
    assert 29 <= wait <= 61, "initial_backoff 60s with jitter into [50%, 100%]"
    assert lease(server.stub, cids) == []


def test_not_retryable_fails_at_once(server, uid):
    cids, [did] = make_due(server.stub, uid)
    [ls] = lease(server.stub, cids)
    done = report_failed(server.stub, ls, retryable=False, error="copyright strike")
    assert done.state == pb.DISTRIBUTION_STATE_FAILED and done.attempts == 1
    [decision] = server.stub.ListDecisions(
        svc.ListDecisionsRequest(distribution_id=did, page_size=1)
    ).decisions
    assert decision.details["code"] == "NOT_RETRYABLE"


def test_expired_lease_comes_back_unconfirmed_with_same_key(server, uid):
    cids, [did] = make_due(server.stub, uid)
    [first] = lease(server.stub, cids, seconds=1, worker="dies")
    time.sleep(1.3)
    [second] = lease(server.stub, cids, worker="survivor")
    assert second.previous_attempt_unconfirmed and second.idempotency_key == first.idempotency_key
    assert second.distribution.attempts == 0, "an unknown outcome is not a failure"
    expect_error(grpc.StatusCode.FAILED_PRECONDITION, report_ok, server.stub, first)
    done = report_ok(server.stub, second)
    assert done.state == pb.DISTRIBUTION_STATE_PUBLISHED and not done.unconfirmed
    assert kinds(server.stub, did) == ["OVERRIDE", "LEASED", "LEASE_EXPIRED", "LEASED", "PUBLISHED"]


def test_many_workers_never_share_a_distribution(server, uid):
    cids, ids = make_due(server.stub, uid, channels=4, videos=10)
    barrier = threading.Barrier(8)
    leased: list[str] = []
    lock = threading.Lock()

    def work(n):
        barrier.wait()
        while got := lease(server.stub, cids, limit=3, worker=f"w{n}"):
            with lock:
                leased.extend(ls.distribution.id for ls in got)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(leased) == len(set(leased)) == len(ids)


@pytest.fixture
def quick_outage_server(fresh_database_url):
    handle = start_server(fresh_database_url, outage_cooldown_seconds=1.0)
    yield handle
    handle.close()


def test_channel_outage_holds_work_uncharged_and_cooldown_grows(quick_outage_server, uid):
    stub = quick_outage_server.stub
    cids, _ = make_due(stub, uid, videos=3)
    [ls] = lease(stub, cids, limit=1)
    held = report_failed(stub, ls, outage=True, error="account suspended")
    assert held.state == pb.DISTRIBUTION_STATE_SCHEDULED and held.attempts == 0
    ch = stub.GetChannel(svc.GetChannelRequest(id=cids[0]))
    assert not ch.available and "account suspended" in ch.unavailable_reason
    first = (ts_to_dt(ch.unavailable_until) - datetime.now(UTC)).total_seconds()
    assert lease(stub, cids) == [], "the channel's due work waits"
    time.sleep(first + 0.2)
    [ls] = lease(stub, cids, limit=1)
    report_failed(stub, ls, outage=True)
    ch = stub.GetChannel(svc.GetChannelRequest(id=cids[0]))
    second = (ts_to_dt(ch.unavailable_until) - datetime.now(UTC)).total_seconds()
    assert 1.5 < second <= 2.0, "second consecutive outage doubles the cooldown"
    time.sleep(second + 0.2)
    [ls] = lease(stub, cids, limit=1)
    report_ok(stub, ls)
    assert stub.GetChannel(svc.GetChannelRequest(id=cids[0])).available


def test_retry_requeues_failed_and_skips_others(server, uid):
    cids, ids = make_due(server.stub, uid, videos=2)
    for ls in lease(server.stub, cids):
        report_failed(server.stub, ls, retryable=False)
    res = server.stub.Retry(
        svc.RetryRequest(distribution_ids=[ids[0], "00000000-0000-4000-8000-000000000000"])
    )
    [retried] = res.retried
    assert retried.state == pb.DISTRIBUTION_STATE_SCHEDULED and retried.attempts == 1
    assert retried.max_attempts >= 2
    assert [s.reason for s in res.skipped] == ["not found"]
    again = server.stub.Retry(svc.RetryRequest(distribution_ids=[ids[0]]))
    assert "not FAILED" in again.skipped[0].reason
    by_channel = server.stub.Retry(svc.RetryRequest(channel_id=cids[0], reset_attempts=True))
    assert [d.id for d in by_channel.retried] == [ids[1]] and by_channel.retried[0].attempts == 0
    [ls] = lease(server.stub, cids, limit=1)
    assert ls.distribution.id == ids[0], "a past slot makes the retried distribution due now"
    assert "RETRIED" in kinds(server.stub, ids[0])


@pytest.mark.parametrize(
    "request_",
    [svc.RetryRequest(), svc.RetryRequest(all_failed=True, channel_id="c")],
)
def test_retry_needs_exactly_one_selector(server, request_):
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, server.stub.Retry, request_)


def test_stats_match_a_hand_count(server, uid):
    cids, ids = make_due(server.stub, uid, channels=2, videos=3)
    leases = {ls.distribution.id: ls for ls in lease(server.stub, cids, limit=100)}
    report_ok(server.stub, leases[ids[0]])
    report_ok(server.stub, leases[ids[1]])
    report_failed(server.stub, leases[ids[2]], retryable=False)
    report_failed(server.stub, leases[ids[3]], retryable=True)
    server.stub.CancelDistribution(svc.CancelDistributionRequest(id=ids[3]))
    stats = server.stub.Stats(svc.StatsRequest(channel_ids=cids))
    assert stats.total == 6
    assert dict(stats.by_state) == {"PUBLISHED": 2, "FAILED": 1, "CANCELLED": 1, "PUBLISHING": 2}
    assert dict(stats.by_method) == {"MANUAL": 6}
    assert stats.success_rate == pytest.approx(2 / 3)
    assert stats.error_rate == pytest.approx(2 / 4)
    assert stats.retries == 1
    assert sum(c.total for c in stats.channels) == 6
    assert [c.channel_id for c in stats.channels] == sorted(cids)
    future = server.stub.Stats(
        svc.StatsRequest(
            channel_ids=cids, start_time=dt_to_ts(datetime.now(UTC) + timedelta(days=1))
        )
    )
    assert future.total == 0


def test_flaky_failures_approach_p_to_the_k_and_stats_match_manifests(server, uid, tmp_path):
    p, k = 0.5, 2
    cids, ids = make_due(server.stub, uid, channels=3, videos=100, policy=_policy(k, 0))
    publisher = FlakyPublisher(tmp_path, fail_rate=p, seed=7)
    worker = Worker(server.stub, publisher, "flaky", batch=50, channel_ids=tuple(cids))
    worker.run(until_idle=True)
    stats = server.stub.Stats(svc.StatsRequest(channel_ids=cids))
    failed_share = stats.by_state["FAILED"] / len(ids)
    assert abs(failed_share - p**k) < 0.08, failed_share
    manifests = list(Path(tmp_path).glob("*.json"))
    assert stats.by_state["PUBLISHED"] == len(manifests) == worker.stats.published
    assert stats.by_state["PUBLISHED"] + stats.by_state["FAILED"] == len(ids)
    assert stats.retries == worker.stats.failed - stats.by_state["FAILED"]


def test_killed_worker_leads_to_unconfirmed_and_exactly_one_manifest(server, uid, tmp_path):
    cids, [did] = make_due(server.stub, uid)
    cmd = [
        sys.executable,
        "-m",
        "server.cli",
        "worker",
        "--target",
        server.address,
        "--publisher",
        "local",
        "--folder",
        str(tmp_path),
        "--option",
        "delay_seconds=60",
        "--lease-seconds",
        "2",
        "--until-idle",
        "--channel",
        cids[0],
    ]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).parents[2], env={**os.environ})
    manifest = tmp_path / f"{did}.json"
    deadline = time.monotonic() + 30
    while not manifest.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert manifest.exists(), "the worker posted"
    proc.send_signal(signal.SIGKILL)  # dies before it can report
    proc.wait(timeout=10)
    time.sleep(2.2)
    recovery = Worker(server.stub, LocalPublisher(tmp_path), "recovery", channel_ids=tuple(cids))
    recovery.run(until_idle=True)
    got = server.stub.GetDistribution(svc.GetDistributionRequest(id=did))
    assert got.state == pb.DISTRIBUTION_STATE_PUBLISHED
    assert [p.name for p in tmp_path.iterdir()] == [f"{did}.json"], "exactly one manifest"
    assert "LEASE_EXPIRED" in kinds(server.stub, did)
