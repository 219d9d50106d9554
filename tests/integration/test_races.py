"""Concurrent Assign calls never duplicate a pair nor double-book a slot (both databases)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from tests.support.factories import channel, setup, video

THREADS = 16


def test_sixteen_threads_assigning_the_same_videos(server, uid):
    channels = [channel(f"race{i}-{uid}", times=("09:00", "13:00", "18:00")) for i in range(3)]
    videos = [video(f"rv{i}-{uid}") for i in range(6)]
    setup(server.stub, channels, videos)
    barrier = threading.Barrier(THREADS)
    channel_ids = [c.id for c in channels]

    def hammer(n: int) -> list[svc.AssignResult]:
        barrier.wait()
        results = []
        for k in range(3):
            vid = videos[(n + k) % len(videos)].id
            results += server.stub.Assign(
                svc.AssignRequest(video_id=vid, channel_ids=channel_ids), timeout=60
            ).results
        return results

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [r for rs in pool.map(hammer, range(THREADS)) for r in rs]

    assigned = [r for r in outcomes if r.outcome == svc.ASSIGN_OUTCOME_ASSIGNED]
    assert len(assigned) == len(videos) * len(channels), "each (video, channel) exactly once"
    live = []
    for cid in channel_ids:
        live += server.stub.ListDistributions(
            svc.ListDistributionsRequest(channel_id=cid, page_size=1000)
        ).distributions
    assert all(d.state == pb.DISTRIBUTION_STATE_SCHEDULED for d in live)
    pairs = Counter((d.video_id, d.channel_id) for d in live)
    slots = Counter((d.channel_id, d.scheduled_at.seconds) for d in live)
    assert max(pairs.values()) == 1, "no duplicate pair"
    assert max(slots.values()) == 1, "no double-booked slot"
    assert len(live) == len(assigned)
    rejected = [r for r in outcomes if r.outcome == svc.ASSIGN_OUTCOME_REJECTED_DUPLICATE]
    assert len(rejected) == len(outcomes) - len(assigned)
