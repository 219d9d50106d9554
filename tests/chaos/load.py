"""The mixed load: client threads round-robin over the replicas, and in-process ledger workers.

Every call is retried on UNAVAILABLE, ABORTED and DEADLINE_EXCEEDED with the same request
(so the same request_id), each attempt on the next replica, within a bounded number of
attempts and seconds. Every acknowledged write goes into the ledger.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from distribution.v1 import resources_pb2 as pb
from tests.chaos.ledger import Ledger

RETRYABLE = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
)
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]
TIMEZONES = (
    "Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC",
    "Australia/Sydney", "America/Los_Angeles", "Asia/Kathmandu", "Europe/London",
)  # fmt: skip
EVERY_DAY = [
    pb.DAY_OF_WEEK_MONDAY, pb.DAY_OF_WEEK_TUESDAY, pb.DAY_OF_WEEK_WEDNESDAY,
    pb.DAY_OF_WEEK_THURSDAY, pb.DAY_OF_WEEK_FRIDAY, pb.DAY_OF_WEEK_SATURDAY, pb.DAY_OF_WEEK_SUNDAY,
]  # fmt: skip
#: The retry policy of every chaos channel (the checks verify backoffs against it).
MAX_ATTEMPTS = 4
INITIAL_BACKOFF = 1.0
BACKOFF_MULTIPLIER = 2.0
MAX_BACKOFF = 8.0
#: Workers lease what is due within this many hours (AutoDistribute plans further out).
LOOKAHEAD_HOURS = 2.0
REQUEST_TYPES: dict[str, type[Message]] = {
    "Assign": svc.AssignRequest,
    "AutoDistribute": svc.AutoDistributeRequest,
}
RESPONSE_TYPES: dict[str, type[Message]] = {
    "Assign": svc.AssignResponse,
    "AutoDistribute": svc.AutoDistributeResponse,
}


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def canonical_url(family: str) -> str:
    return f"https://cdn.example.com/chaos/{family}.mp4"


def url_spelling(family: str, rng: random.Random) -> str:
    """One of several spellings that normalise to `canonical_url(family)`."""
    path = f"/chaos/{family}.mp4"
    return rng.choice(
        [
            f"https://cdn.example.com{path}",
            f"https://CDN.Example.COM{path}",
            f"https://cdn.example.com{path}/",
            f"https://cdn.example.com:443{path}?utm_source=chaos&fbclid=x{rng.randrange(99)}",
            f"HTTPS://cdn.example.com{path}#t={rng.randrange(60)}",
        ]
    )


def chaos_channel(index: int) -> pb.Channel:
    """Channel `index`: a slot every 30 minutes every day, in one of eight time zones."""
    times = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]
    channel = pb.Channel(
        id=f"chaos-c{index}",
        display_name=f"Chaos channel {index}",
        platform=("youtube", "tiktok", "instagram")[index % 3],
        timezone=TIMEZONES[index % len(TIMEZONES)],
        active=True,
        schedule=pb.PostingSchedule(
            slots=[pb.WeeklySlot(days=EVERY_DAY, local_time=t) for t in times]
        ),
        retry_policy=pb.RetryPolicy(
            max_attempts=MAX_ATTEMPTS,
            initial_backoff=Duration(seconds=int(INITIAL_BACKOFF)),
            max_backoff=Duration(seconds=int(MAX_BACKOFF)),
            backoff_multiplier=BACKOFF_MULTIPLIER,
        ),
    )
    if index % 4 == 3:
        channel.filters.min_views = 2000  # some Assigns are rejected by a filter
    return channel


class Api:
    """Stubs on every replica; each attempt goes to the next one."""

    def __init__(self, addresses: list[str], ledger: Ledger) -> None:
        self.addresses = addresses
        self._channels = [grpc.insecure_channel(a, options=CHANNEL_OPTIONS) for a in addresses]
        self._stubs = [svc_grpc.DistributionServiceStub(c) for c in self._channels]
        self._turn = itertools.count()
        self.ledger = ledger

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def call(
        self,
        method: str,
        request: Message,
        *,
        timeout: float = 10.0,
        attempts: int = 10,
        budget: float = 45.0,
        stop: threading.Event | None = None,
    ) -> tuple[Any, grpc.RpcError | None]:
        """(answer, None) or (None, the last error); retries the retryable codes."""
        deadline = time.monotonic() + budget
        backoff = 0.1
        error: grpc.RpcError | None = None
        for attempt in range(attempts):
            index = next(self._turn) % len(self._stubs)
            with self.ledger.lock:
                self.ledger.calls += 1
            try:
                answer = getattr(self._stubs[index], method)(request, timeout=timeout)
            except grpc.RpcError as exc:
                error = exc
                self.ledger.code(
                    exc.code().name, f"{method} via {self.addresses[index]}: {exc.details()}"
                )
                if exc.code() not in RETRYABLE:
                    return None, exc
                wait = backoff * (0.5 + random.random() / 2)
                if time.monotonic() + wait > deadline or (stop is not None and stop.is_set()):
                    break
                time.sleep(wait)
                backoff = min(backoff * 2, 2.0)
                continue
            self.ledger.code("OK")
            if attempt:
                with self.ledger.lock:
                    self.ledger.retried_ok += 1
            return answer, None
        with self.ledger.lock:
            self.ledger.given_up += 1
        return None, error


class Shared:
    """What the client threads share: ids they may act on (lists, for random choice)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.videos: list[str] = []
        self.families: list[str] = []
        self.distributions: list[str] = []
        self.requests: list[tuple[str, str]] = []  # acknowledged (method, request_id)

    def pick(self, items: list[Any], rng: random.Random, recent: int = 0) -> Any | None:
        with self.lock:
            if not items:
                return None
            if recent and len(items) > recent:
                return items[-1 - rng.randrange(recent)]
            return rng.choice(items)


class Client:
    """One load thread's behaviour: a weighted mix of writes, replays and reads."""

    def __init__(
        self, index: int, api: Api, shared: Shared, channels: list[str], stop: threading.Event
    ) -> None:
        self.index = index
        self.api = api
        self.ledger = api.ledger
        self.shared = shared
        self.channels = channels
        self.stop = stop
        self.rng = random.Random(7919 * (index + 1))
        self.serial = 0
        self.ops: list[tuple[Callable[[], None], int]] = [
            (self.upsert_videos, 10),
            (self.assign, 30),
            (self.auto_distribute, 5),
            (self.cancel, 10),
            (self.retry, 4),
            (self.replay, 12),
            (self.read, 8),
            (self.upsert_channel, 1),
        ]

    def run(self, until: float) -> None:
        actions = [op for op, _ in self.ops]
        weights = [w for _, w in self.ops]
        for _ in range(1_000_000):  # bounded; the clock ends it long before
            if self.stop.is_set() or time.monotonic() >= until:
                return
            self.rng.choices(actions, weights)[0]()

    def _call(self, method: str, request: Message, **kw: Any) -> tuple[Any, grpc.RpcError | None]:
        return self.api.call(method, request, stop=self.stop, **kw)

    def _unexpected(self, method: str, error: grpc.RpcError | None) -> None:
        if error is not None and error.code() not in RETRYABLE:
            self.ledger.note_unexpected(f"{method}: {error.code().name} {error.details()}")

    # --- catalog -------------------------------------------------------------------------

    def upsert_videos(self) -> None:
        videos = []
        families = []
        for _ in range(self.rng.randint(1, 4)):
            self.serial += 1
            video_id = f"v-{self.index}-{self.serial}"
            family = self.shared.pick(self.shared.families, self.rng, recent=200)
            if family is None or self.rng.random() >= 0.25:
                family = f"f-{self.index}-{self.serial}"
                families.append(family)
            vertical = self.rng.random() < 0.7
            videos.append(
                pb.Video(
                    id=video_id,
                    source_url=url_spelling(family, self.rng),
                    title=f"Chaos video {video_id}",
                    duration_seconds=float(self.rng.randint(10, 120)),
                    width=1080 if vertical else 1920,
                    height=1920 if vertical else 1080,
                    views=self.rng.randint(100, 5000),
                    tags=self.rng.sample(["cooking", "travel", "music", "news"], 2),
                    language="en",
                    state=pb.VIDEO_STATE_READY,
                )
            )
            with self.ledger.lock:
                self.ledger.family[video_id] = family
        answer, error = self._call("UpsertVideos", svc.UpsertVideosRequest(videos=videos))
        if answer is None:
            self._unexpected("UpsertVideos", error)
            return
        if answer.upserted_count != len(videos):
            self.ledger.problem(f"UpsertVideos upserted {answer.upserted_count} of {len(videos)}")
        self.ledger.ack()
        with self.ledger.lock:
            self.ledger.videos.update(v.id for v in videos)
        with self.shared.lock:
            self.shared.videos.extend(v.id for v in videos)
            self.shared.families.extend(families)

    def upsert_channel(self) -> None:
        index = self.rng.randrange(len(self.channels))
        answer, error = self._call(
            "UpsertChannel", svc.UpsertChannelRequest(channel=chaos_channel(index))
        )
        if answer is None:
            self._unexpected("UpsertChannel", error)
            return
        self.ledger.ack()

    # --- idempotent writes -----------------------------------------------------------------

    def _idempotent(self, method: str, request: Any, timeout: float) -> Any | None:
        self.ledger.begin(method, request.request_id, request.SerializeToString(deterministic=True))
        answer, error = self._call(method, request, timeout=timeout)
        if answer is None:
            self._unexpected(method, error)
            return None
        self.ledger.answered(
            method, request.request_id, answer.SerializeToString(deterministic=True), replay=False
        )
        with self.shared.lock:
            self.shared.requests.append((method, request.request_id))
        return answer

    def assign(self) -> None:
        video_id = self.shared.pick(self.shared.videos, self.rng, recent=300)
        if video_id is None:
            self.upsert_videos()
            return
        channels = self.rng.sample(self.channels, self.rng.randint(1, 3))
        request = svc.AssignRequest(
            video_id=video_id,
            channel_ids=channels,
            note=f"chaos client {self.index}",
            request_id=f"assign-{uuid.uuid4().hex}",
        )
        draw = self.rng.random()
        now = datetime.now(UTC).replace(microsecond=0)
        if draw < 0.3:  # due now: the workers take it at once
            request.force = True
            # (the server refuses slots more than 5 minutes in the past)
            request.scheduled_at.CopyFrom(ts(now - timedelta(seconds=self.rng.randint(1, 240))))
        elif draw < 0.4:  # a few hot slot instants that many clients want at once
            hot = now.replace(minute=0, second=0) + timedelta(days=1)
            hot += timedelta(minutes=30 * self.rng.randrange(4))
            request.scheduled_at.CopyFrom(ts(hot))
        elif draw < 0.43:
            request.allow_duplicate = True  # audited duplicate override
        answer = self._idempotent("Assign", request, timeout=10)
        if answer is None:
            return
        for result in answer.results:
            if result.outcome != svc.ASSIGN_OUTCOME_ASSIGNED:
                continue
            d = result.distribution
            if d.video_id != video_id or d.channel_id != result.channel_id or not d.id:
                self.ledger.problem(f"Assign answered a wrong distribution: {d.id} {d.video_id}")
            self._distribution(d.id, d.video_id, d.channel_id)

    def _distribution(self, distribution_id: str, video_id: str, channel_id: str) -> None:
        self.ledger.add_distribution(distribution_id, video_id, channel_id)
        with self.shared.lock:
            self.shared.distributions.append(distribution_id)

    def auto_distribute(self) -> None:
        with self.shared.lock:
            recent = self.shared.videos[-150:]
        if len(recent) < 4:
            self.upsert_videos()
            return
        request = svc.AutoDistributeRequest(
            mode=self.rng.choice(
                [svc.AUTO_DISTRIBUTE_MODE_FILTER, svc.AUTO_DISTRIBUTE_MODE_SCHEDULE]
            ),
            video_ids=self.rng.sample(recent, self.rng.randint(4, 8)),
            channel_ids=self.rng.sample(self.channels, self.rng.randint(2, 3)),
            max_channels_per_video=self.rng.randint(1, 2),
            time_limit_seconds=2.0,
        )
        if self.rng.random() < 0.1:
            request.dry_run = True
            answer, error = self._call("AutoDistribute", request, timeout=20)
            if answer is None:
                self._unexpected("AutoDistribute", error)
            return
        request.request_id = f"auto-{uuid.uuid4().hex}"
        answer = self._idempotent("AutoDistribute", request, timeout=20)
        if answer is None:
            return
        if answer.truncated:
            self.ledger.problem(f"AutoDistribute {answer.run_id} truncated a tiny plan")
        ids = [d.id for d in answer.assignments]
        with self.ledger.lock:
            self.ledger.runs[answer.run_id] = (answer.assignment_count, ids)
        for d in answer.assignments:
            if d.run_id != answer.run_id:
                self.ledger.problem(f"AutoDistribute {answer.run_id}: {d.id} has run {d.run_id}")
            self._distribution(d.id, d.video_id, d.channel_id)

    def replay(self) -> None:
        key = self.shared.pick(self.shared.requests, self.rng)
        if key is None:
            return
        with self.ledger.lock:
            entry = self.ledger.idempotent[key]
        request = REQUEST_TYPES[entry.method].FromString(entry.request)
        answer, error = self._call(entry.method, request, timeout=20)
        if answer is None:
            if error is not None and error.code() not in RETRYABLE:
                with self.ledger.lock:
                    self.ledger.replay_mismatches.append(
                        f"{entry.method} request_id={entry.request_id}: replay answered "
                        f"{error.code().name} {error.details()} instead of the first answer"
                    )
            return
        self.ledger.answered(
            entry.method,
            entry.request_id,
            answer.SerializeToString(deterministic=True),
            replay=True,
        )

    # --- other writes ----------------------------------------------------------------------

    def cancel(self) -> None:
        distribution_id = self.shared.pick(self.shared.distributions, self.rng, recent=400)
        if distribution_id is None:
            return
        answer, error = self._call(
            "CancelDistribution",
            svc.CancelDistributionRequest(id=distribution_id, reason="chaos cancel"),
        )
        if answer is not None:
            if answer.state != pb.DISTRIBUTION_STATE_CANCELLED:
                self.ledger.problem(f"CancelDistribution {distribution_id} answered {answer.state}")
            self.ledger.ack()
            with self.ledger.lock:
                self.ledger.cancels.add(distribution_id)
        elif error is not None and error.code() == grpc.StatusCode.NOT_FOUND:
            self.ledger.problem(f"CancelDistribution: acknowledged {distribution_id} NOT_FOUND")
        elif error is not None and error.code() != grpc.StatusCode.FAILED_PRECONDITION:
            self._unexpected("CancelDistribution", error)

    def retry(self) -> None:
        if self.rng.random() < 0.05:
            request = svc.RetryRequest(all_failed=True)
        else:
            with self.shared.lock:
                pool = self.shared.distributions[-400:]
            if not pool:
                return
            request = svc.RetryRequest(
                distribution_ids=self.rng.sample(pool, min(3, len(pool))),
                reset_attempts=self.rng.random() < 0.2,
            )
        answer, error = self._call("Retry", request)
        if answer is None:
            self._unexpected("Retry", error)
            return
        self.ledger.ack()
        with self.ledger.lock:
            for d in answer.retried:
                self.ledger.retried[d.id] += 1
                if d.state != pb.DISTRIBUTION_STATE_SCHEDULED:
                    self.ledger.answer_problems.append(f"Retry answered {d.id} in {d.state}")

    # --- reads -------------------------------------------------------------------------------

    def read(self) -> None:
        if self.rng.random() < 0.5:
            distribution_id = self.shared.pick(self.shared.distributions, self.rng)
            if distribution_id is None:
                return
            answer, error = self._call(
                "GetDistribution", svc.GetDistributionRequest(id=distribution_id)
            )
            if error is not None and error.code() == grpc.StatusCode.NOT_FOUND:
                self.ledger.problem(f"GetDistribution: acknowledged {distribution_id} NOT_FOUND")
            elif answer is None:
                self._unexpected("GetDistribution", error)
            return
        # Two pages, most likely from two replicas: the page token must be valid on both.
        request = svc.ListDistributionsRequest(
            channel_id=self.rng.choice(self.channels), page_size=20
        )
        for _ in range(2):
            answer, error = self._call("ListDistributions", request)
            if answer is None:
                self._unexpected("ListDistributions", error)
                return
            if not answer.next_page_token:
                return
            request.page_token = answer.next_page_token


class LedgerWorker:
    """An in-process upload worker whose acknowledged reports go into the ledger."""

    def __init__(self, index: int, api: Api, stop: threading.Event) -> None:
        self.index = index
        self.api = api
        self.ledger = api.ledger
        self.stop = stop
        self.rng = random.Random(104729 * (index + 1))
        self.worker_id = f"ledger-w{index}"

    def run(self, until: float) -> None:
        for _ in range(1_000_000):
            if self.stop.is_set() or time.monotonic() >= until:
                return
            request = svc.LeasePublicationsRequest(
                worker_id=self.worker_id, limit=3, lease_seconds=6
            )
            request.lookahead.FromTimedelta(timedelta(hours=LOOKAHEAD_HOURS))
            answer, error = self.api.call("LeasePublications", request, stop=self.stop)
            if answer is None:
                if error is not None and error.code() not in RETRYABLE:
                    self.ledger.note_unexpected(
                        f"LeasePublications: {error.code().name} {error.details()}"
                    )
                continue
            if not answer.leases:
                self.stop.wait(0.3)
                continue
            for lease in answer.leases:
                self._handle(lease)

    def _handle(self, lease: svc.Lease) -> None:
        d = lease.distribution
        if lease.idempotency_key != d.id or d.state != pb.DISTRIBUTION_STATE_PUBLISHING:
            self.ledger.problem(f"lease of {d.id}: key {lease.idempotency_key}, state {d.state}")
        draw = self.rng.random()
        if draw < 0.05:
            return  # dies silently: the lease expires, the outcome is unknown
        request = svc.ReportPublicationRequest(distribution_id=d.id, lease_token=lease.lease_token)
        external_id = f"ledger-{d.id}"
        if draw < 0.7:
            request.published.external_id = external_id
            request.published.url = f"https://platform.test/{external_id}"
        elif draw < 0.9:
            request.failed.error = "503 from the ledger worker"
            request.failed.retryable = True
        else:
            request.failed.error = "rejected by the platform (ledger worker)"
            request.failed.retryable = False
        answer, error = self.api.call("ReportPublication", request, stop=self.stop)
        if answer is None:
            if error is not None and error.code() not in (
                *RETRYABLE,
                grpc.StatusCode.FAILED_PRECONDITION,  # the lease ran out; someone else has it
            ):
                self.ledger.note_unexpected(
                    f"ReportPublication: {error.code().name} {error.details()}"
                )
            return
        self.ledger.ack()
        if request.HasField("published"):
            if answer.state != pb.DISTRIBUTION_STATE_PUBLISHED or answer.external_id != external_id:
                self.ledger.problem(f"published report of {d.id} answered {answer.state}")
            with self.ledger.lock:
                self.ledger.published[d.id] = external_id
        if self.rng.random() < 0.1:  # the same report again must change nothing
            again, error = self.api.call("ReportPublication", request, stop=self.stop)
            if again is not None and (
                again.state != answer.state
                or again.attempts != answer.attempts
                or again.external_id != answer.external_id
            ):
                self.ledger.problem(
                    f"repeated report of {d.id} changed it: {answer.state}/{answer.attempts} "
                    f"-> {again.state}/{again.attempts}"
                )
