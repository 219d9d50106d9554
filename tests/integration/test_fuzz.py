"""Fuzzing every RPC from its descriptor: bad input never breaks the server or writes anything.

For every method of `distribution.v1.DistributionService`, a valid request is built against real
rows (a channel with every part of its configuration, videos, a distribution, a run, leases) on
a server with a database of its own (a new one after any RPC that left it unhealthy, so each
failure is reported against the RPC that caused it). `tests.support.fuzz.mutations` walks the
request's descriptor and yields hostile values for each field (integer boundaries, NaN/inf,
Timestamps and Durations outside protobuf's range, 10,000-character / emoji / Arabic-Indic /
NUL / newline-terminated strings, unknown enum numbers, 10,000-element repeated fields, nested
messages recursively), and raw bytes that do not parse as the request are sent as well.

What this proves, on SQLite and on PostgreSQL:
- no mutated call answers INTERNAL, UNKNOWN or UNAVAILABLE, and none hangs or overflows the
  client's trailers (RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED not of the server's own making);
- every rejected call leaves every table exactly as it was (row counts and row hashes);
- after each RPC's mutations, ordinary calls (Explain over every channel, ListChannels,
  ListVideos, ListDistributions, AutoDistribute dry run over everything) still answer OK, so
  an accepted mutated write did not poison later calls.

The seed and the number of mutations per RPC are fixed, so a run is deterministic and bounded.
Every failure of a run is collected and reported at once as "RPC field mutation -> CODE: msg".
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from google.protobuf import duration_pb2, message_factory
from google.protobuf.message import Message

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.converters import dt_to_ts
from tests.support.fuzz import (
    SEED,
    SERVICE,
    Failures,
    Snapshots,
    World,
    bad_outcome,
    call,
    changed_tables,
    garbage_payloads,
    health_checks,
    isolated_server,
    mutations,
    sample,
    server_errors,
)

#: At most this many field mutations per RPC (drawn with the seed when there are more).
MAX_MUTATIONS_PER_RPC = 400

Builder = Callable[[World], Message]


def _lease_request(w: World) -> Message:
    w.stub.SetChannelAvailability(
        svc.SetChannelAvailabilityRequest(channel_id=w.plain.id, available=True)
    )
    w.due_distribution()
    return svc.LeasePublicationsRequest(
        worker_id="fuzz-worker",
        limit=1,
        lease_seconds=60,
        channel_ids=[w.plain.id],
        lookahead=duration_pb2.Duration(seconds=3600),
    )


def _report_request(w: World) -> Message:
    lease = w.leased()
    return svc.ReportPublicationRequest(
        distribution_id=lease.distribution.id,
        lease_token=lease.lease_token,
        published=svc.PublishedOutcome(external_id="ext-1", url="https://p.test/ext-1"),
    )


def _proposal(w: World) -> str:
    """A fresh dry run's run id: a PROPOSED run of one new video."""
    return w.stub.AutoDistribute(
        svc.AutoDistributeRequest(
            mode=svc.AUTO_DISTRIBUTE_MODE_FILTER,
            video_ids=[w.new_video()],
            channel_ids=[w.channel.id, w.plain.id],
            horizon_start=dt_to_ts(w.now + timedelta(hours=1)),
            horizon_end=dt_to_ts(w.now + timedelta(days=3)),
            dry_run=True,
        )
    ).run_id


#: A valid request per RPC, built against the world's rows; True: rebuild after an accepted
#: mutation (the call consumed what the request names: a lease, a video's free pair...).
BASES: dict[str, tuple[Builder, bool]] = {
    "UpsertChannel": (lambda w: svc.UpsertChannelRequest(channel=w.channel), False),
    "GetChannel": (lambda w: svc.GetChannelRequest(id=w.channel.id), False),
    "ListChannels": (
        lambda w: svc.ListChannelsRequest(page_size=10, page_token=w.channel_token),
        False,
    ),
    "SetChannelAvailability": (
        lambda w: svc.SetChannelAvailabilityRequest(
            channel_id=w.plain.id,
            available=False,
            until=dt_to_ts(w.now + timedelta(days=1)),
            reason="maintenance",
        ),
        False,
    ),
    "UpsertQuotaPool": (lambda w: svc.UpsertQuotaPoolRequest(pool=w.pool), False),
    "GetQuotaPool": (lambda w: svc.GetQuotaPoolRequest(id=w.pool.id), False),
    "ListQuotaPools": (
        lambda w: svc.ListQuotaPoolsRequest(page_size=10, page_token=w.pool_token),
        False,
    ),
    "UpsertVideos": (lambda w: svc.UpsertVideosRequest(videos=[w.video]), False),
    "GetVideo": (lambda w: svc.GetVideoRequest(id=w.video.id), False),
    "ListVideos": (
        lambda w: svc.ListVideosRequest(page_size=10, page_token=w.video_token),
        False,
    ),
    "Assign": (
        lambda w: svc.AssignRequest(
            video_id=w.new_video(), channel_ids=[w.channel.id], note="fuzz"
        ),
        True,
    ),
    "Explain": (
        lambda w: svc.ExplainRequest(video_ids=[w.video.id], channel_ids=[w.channel.id]),
        False,
    ),
    "SuggestPlacements": (
        lambda w: svc.SuggestPlacementsRequest(
            video_id=w.video.id,
            channel_ids=[w.channel.id, w.plain.id],
            limit=3,
            horizon_end=dt_to_ts(w.now + timedelta(days=3)),
        ),
        False,
    ),
    "AutoDistribute": (
        lambda w: svc.AutoDistributeRequest(
            mode=svc.AUTO_DISTRIBUTE_MODE_FILTER,
            video_ids=[w.new_video()],
            channel_ids=[w.channel.id, w.plain.id],
            horizon_start=dt_to_ts(w.now + timedelta(hours=1)),
            horizon_end=dt_to_ts(w.now + timedelta(days=3)),
            max_channels_per_video=1,
            time_limit_seconds=5,
        ),
        True,
    ),
    "GetDistribution": (lambda w: svc.GetDistributionRequest(id=w.distribution_id), False),
    "ListDistributions": (
        lambda w: svc.ListDistributionsRequest(
            video_id=w.video.id,
            channel_id=w.channel.id,
            state=pb.DISTRIBUTION_STATE_SCHEDULED,
            method=pb.DISTRIBUTION_METHOD_MANUAL,
            page_size=10,
        ),
        False,
    ),
    "CancelDistribution": (
        lambda w: svc.CancelDistributionRequest(id=w.scheduled_distribution(), reason="fuzz"),
        True,
    ),
    "ListDecisions": (
        lambda w: svc.ListDecisionsRequest(
            video_id=w.video.id,
            channel_id=w.channel.id,
            distribution_id=w.distribution_id,
            page_size=10,
        ),
        False,
    ),
    "GetRun": (lambda w: svc.GetRunRequest(run_id=w.run_id), False),
    "ListRuns": (lambda w: svc.ListRunsRequest(page_size=10), False),
    "Retry": (
        lambda w: svc.RetryRequest(distribution_ids=[w.failed_distribution()], reset_attempts=True),
        True,
    ),
    "Stats": (
        lambda w: svc.StatsRequest(
            channel_ids=[w.channel.id],
            start_time=dt_to_ts(w.now - timedelta(days=1)),
            end_time=dt_to_ts(w.now + timedelta(days=30)),
        ),
        False,
    ),
    "LeasePublications": (_lease_request, True),
    "ReportPublication": (_report_request, True),
    "ApplyRun": (lambda w: svc.ApplyRunRequest(run_id=_proposal(w)), True),
    "ListRunChanges": (
        lambda w: svc.ListRunChangesRequest(run_id=_proposal(w), page_size=5),
        False,
    ),
}


def _fuzz_rpc(
    method: str, world: World, snapshots: Snapshots, failures: Failures, rng: random.Random
) -> int:
    """Sends every mutation of `method`'s valid request; returns how many calls were made."""
    descriptor = SERVICE.methods_by_name[method]
    empty = message_factory.GetMessageClass(descriptor.input_type)
    build, rebuild = BASES.get(method, (lambda _w: empty(), False))
    base = build(world)
    cases: list[tuple[str, str, Callable[[Message], Message | bytes]]] = [
        (m.path, m.label, m.applied_to) for m in sample(mutations(base), MAX_MUTATIONS_PER_RPC, rng)
    ]
    cases += [
        ("<request bytes>", label, lambda _b, payload=payload: payload)
        for label, payload in garbage_payloads(base, rng)
    ]
    before = snapshots.take()
    for path, label, make in cases:
        request = make(base)
        outcome = call(world.server, method, request)
        if bad_outcome(outcome):
            failures.add(method, path, label, outcome)
        if not outcome.ok:
            after = snapshots.take()
            changed = changed_tables(before, after)
            if changed:
                failures.add(method, path, label, outcome, f"rejected, yet wrote: {changed}")
            before = after
            continue
        if rebuild:
            base = build(world)
        before = snapshots.take()
    return len(cases)


def _still_healthy(method: str, world: World, failures: Failures) -> bool:
    """Whether the ordinary calls still answer OK after `method`'s mutations (else recorded)."""
    healthy = True
    for check, request in health_checks(world):
        outcome = call(world.server, check, request)
        if not outcome.ok:
            healthy = False
            failures.add(method, "<afterwards>", f"{check} still answers", outcome)
    return healthy


def test_every_rpc_survives_mutated_requests(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, uid: str
) -> None:
    failures = Failures()
    timings: list[str] = []
    stack = ExitStack()
    world: World | None = None
    databases = 0
    with server_errors(), stack:
        for method in [m.name for m in SERVICE.methods]:
            started = time.perf_counter()
            count = 0
            try:
                if world is None:
                    # A new database at first, and after an RPC that left the last one
                    # unhealthy, so that each failure is reported against its own RPC.
                    stack.close()
                    databases += 1
                    server = stack.enter_context(isolated_server(backend, request, tmp_path))
                    snapshots = Snapshots(server.database_url)
                    stack.callback(snapshots.close)
                    world = World(server, f"{uid}-{databases}")
                rng = random.Random(f"{SEED}:{method}")
                count = _fuzz_rpc(method, world, snapshots, failures, rng)
                if _still_healthy(method, world, failures):
                    world.restore()
                else:
                    world = None
            except Exception as exc:  # a broken setup is one more failure, not the end of the run
                failures.add_text(f"{method} <setup> -> {type(exc).__name__}: {str(exc)[:200]}")
                world = None
            timings.append(f"{method}: {count} calls, {time.perf_counter() - started:.1f}s")
    missing = sorted({m.name for m in SERVICE.methods} - set(BASES))
    timings.append(f"databases used: {databases}; RPCs fuzzed from an empty request: {missing}")
    print("\n".join(timings))
    failures.check()
