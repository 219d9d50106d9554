"""Poison: whatever catalog write the server accepts, planning over it keeps working.

The catalog writes (UpsertChannel, UpsertVideos, SetChannelAvailability) are mutated with the
descriptor-driven machinery of `tests.support.fuzz`, restricted to these three messages. Each
mutated write the server ACCEPTS is left stored, and then everything that reads the catalog
runs over it: AutoDistribute (dry run and real, over every active channel), Explain over every
channel, Assign to the written channel (by its next free slot, and forced into a due slot), and
LeasePublications with a failed, retryable ReportPublication of what was leased (which runs the
channel's retry policy).

What this proves, on SQLite and on PostgreSQL: no accepted catalog value makes any of those
calls answer INTERNAL, UNKNOWN or UNAVAILABLE (nor hang, nor overflow the client's trailers).
Each backend runs on databases of its own: when a poisoned write cannot be repaired through
the API (re-writing the valid value and checking again), the rest of the run moves to a new
empty database, so one failure is reported against the write that caused it and no other.
Every failure is collected and reported at once as "RPC field mutation -> CODE: msg [check]".
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.protobuf import duration_pb2
from google.protobuf.message import Message

from distribution.v1 import distribution_service_pb2 as svc
from server.api.converters import dt_to_ts
from tests.support.fuzz import (
    SEED,
    Failures,
    Mutation,
    Outcome,
    World,
    bad_outcome,
    call,
    full_video,
    isolated_server,
    mutations,
    sample,
    server_errors,
)

#: At most this many accepted-or-not mutations per catalog RPC (drawn with the seed).
MAX_MUTATIONS_PER_RPC = 400


def _channel_write(world: World) -> Message:
    return svc.UpsertChannelRequest(channel=world.channel)


def _video_write(world: World) -> Message:
    n = world.next_number()
    video = full_video(f"pz-{world.tag}-{n}")
    video.source_url = f"https://cdn.example.com/poison/{world.tag}/{n}.mp4"
    return svc.UpsertVideosRequest(videos=[video])


def _availability_write(world: World) -> Message:
    return svc.SetChannelAvailabilityRequest(
        channel_id=world.channel.id,
        available=False,
        until=dt_to_ts(world.now + timedelta(hours=2)),
        reason="maintenance",
    )


def _written_channel(request: Message, world: World) -> str:
    if isinstance(request, svc.UpsertChannelRequest):
        return str(request.channel.id)
    if isinstance(request, svc.SetChannelAvailabilityRequest):
        return str(request.channel_id)
    return str(world.channel.id)


def _written_video(request: Message) -> str | None:
    if isinstance(request, svc.UpsertVideosRequest) and len(request.videos):
        return str(request.videos[0].id)
    return None


def planning_checks(
    world: World, channel_id: str, video_id: str | None
) -> Iterator[tuple[str, Outcome]]:
    """Every planning and publishing call over the catalog, each with what it answered."""
    fresh = world.new_video()
    videos = [fresh, world.video.id] + ([video_id] if video_id else [])
    mode = svc.AUTO_DISTRIBUTE_MODE_FILTER
    yield (
        "AutoDistribute dry run",
        call(
            world.server,
            "AutoDistribute",
            svc.AutoDistributeRequest(mode=mode, dry_run=True, time_limit_seconds=5),
        ),
    )
    yield (
        "AutoDistribute",
        call(
            world.server,
            "AutoDistribute",
            svc.AutoDistributeRequest(
                mode=svc.AUTO_DISTRIBUTE_MODE_SCHEDULE,
                max_channels_per_video=3,
                time_limit_seconds=5,
            ),
        ),
    )
    yield (
        "Explain every channel",
        call(world.server, "Explain", svc.ExplainRequest(video_ids=list(dict.fromkeys(videos)))),
    )
    yield (
        "SuggestPlacements every active channel",
        call(
            world.server,
            "SuggestPlacements",
            svc.SuggestPlacementsRequest(video_id=video_id or videos[0], limit=50),
        ),
    )
    yield (
        "Assign next slot",
        call(
            world.server,
            "Assign",
            svc.AssignRequest(video_id=video_id or world.new_video(), channel_ids=[channel_id]),
        ),
    )
    due = datetime.now(UTC) - timedelta(minutes=1, milliseconds=world.next_number())
    yield (
        "Assign forced due slot",
        call(
            world.server,
            "Assign",
            svc.AssignRequest(
                video_id=world.new_video(),
                channel_ids=[channel_id],
                force=True,
                allow_duplicate=True,
                scheduled_at=dt_to_ts(due),
            ),
        ),
    )
    leased = call(
        world.server,
        "LeasePublications",
        svc.LeasePublicationsRequest(
            worker_id="poison-worker",
            limit=100,
            lease_seconds=600,
            lookahead=duration_pb2.Duration(seconds=7 * 86400),
        ),
    )
    yield "LeasePublications", leased
    for lease in leased.response.leases if leased.ok else []:
        yield (
            "ReportPublication failed, retryable",
            call(
                world.server,
                "ReportPublication",
                svc.ReportPublicationRequest(
                    distribution_id=lease.distribution.id,
                    lease_token=lease.lease_token,
                    failed=svc.FailedOutcome(error="poison", retryable=True),
                ),
            ),
        )


WRITES: dict[str, Callable[[World], Message]] = {
    "UpsertChannel": _channel_write,
    "UpsertVideos": _video_write,
    "SetChannelAvailability": _availability_write,
}


class Bench:
    """The current server and world; a new empty database when the old one is poisoned."""

    def __init__(self, backend: str, request: pytest.FixtureRequest, tmp: Path) -> None:
        self.backend, self.request, self.tmp = backend, request, tmp
        self.databases = 0
        self._stack = ExitStack()
        self.world = self.fresh()

    def fresh(self) -> World:
        """A world on a new empty database (the previous server is stopped, its data dropped)."""
        self._stack.close()
        self.databases += 1
        server = self._stack.enter_context(isolated_server(self.backend, self.request, self.tmp))
        self.world = World(server, f"p{self.databases}")
        return self.world

    def close(self) -> None:
        """Stops the current server."""
        self._stack.close()


def _poison_rpc(method: str, bench: Bench, failures: Failures, rng: random.Random) -> int:
    """Accepted mutations of `method`, each followed by the planning checks; returns how many."""
    build = WRITES[method]
    chosen: list[Mutation] = sample(mutations(build(bench.world)), MAX_MUTATIONS_PER_RPC, rng)
    accepted = 0
    for m in chosen:
        world = bench.world
        request = m.applied_to(build(world))
        outcome = call(world.server, method, request)
        if bad_outcome(outcome):
            failures.add(method, m.path, m.label, outcome, "the write itself")
        if not outcome.ok:
            continue
        accepted += 1
        channel_id = _written_channel(request, world)
        broken = False
        for check, result in planning_checks(world, channel_id, _written_video(request)):
            if bad_outcome(result):
                broken = True
                failures.add(method, m.path, m.label, result, f"then {check}")
        if broken:
            try:
                world.restore()
                healed = not any(
                    bad_outcome(r) for _c, r in planning_checks(world, world.channel.id, None)
                )
            except Exception:
                healed = False
            if not healed:
                bench.fresh()
    return accepted


def _run_all(bench: Bench, failures: Failures) -> list[str]:
    timings: list[str] = []
    for i, method in enumerate(WRITES):
        started = time.perf_counter()
        accepted = 0
        try:
            if i:
                bench.fresh()
            accepted = _poison_rpc(method, bench, failures, random.Random(f"{SEED}:{method}"))
        except Exception as exc:  # a broken setup is one more failure, not the end of the run
            failures.add_text(f"{method} <setup> -> {type(exc).__name__}: {str(exc)[:200]}")
        timings.append(f"{method}: {accepted} accepted, {time.perf_counter() - started:.1f}s")
    timings.append(f"databases used: {bench.databases}")
    return timings


def test_accepted_catalog_writes_do_not_poison_planning(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    failures = Failures()
    with server_errors():
        bench = Bench(backend, request, tmp_path)
        try:
            timings = _run_all(bench, failures)
        finally:
            bench.close()
    print("\n".join(timings))
    failures.check()
