"""The worker loop: uses the public gRPC API only (LeasePublications, ReportPublication)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import grpc
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from server.worker.publishers import OutcomeLost, Publisher, PublishFailed

log = logging.getLogger(__name__)
_RETRYABLE_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, grpc.RpcError) and exc.code() in _RETRYABLE_CODES


@dataclass
class WorkerStats:
    """What one worker did."""

    leased: int = 0
    published: int = 0
    failed: int = 0
    lost: int = 0
    stale: int = 0


@dataclass
class Worker:
    """Leases due publications, publishes each through `publisher`, reports the outcome."""

    stub: svc_grpc.DistributionServiceStub
    publisher: Publisher
    worker_id: str
    batch: int = 10
    lease_seconds: int = 300
    poll_seconds: float = 2.0
    channel_ids: tuple[str, ...] = ()
    lookahead_seconds: float = 0.0
    rpc_patience_seconds: float = 60.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    stats: WorkerStats = field(default_factory=WorkerStats)

    def stop(self) -> None:
        """Finishes the publication at hand, then stops (leased but unstarted work expires)."""
        self.stop_event.set()

    def run(self, *, until_idle: bool = False) -> WorkerStats:
        """Works until stopped (or, with until_idle, until a lease call returns nothing)."""
        while not self.stop_event.is_set():
            request = svc.LeasePublicationsRequest(
                worker_id=self.worker_id,
                limit=self.batch,
                lease_seconds=self.lease_seconds,
                channel_ids=self.channel_ids,
            )
            request.lookahead.FromTimedelta(timedelta(seconds=self.lookahead_seconds))
            leases = self._call(self.stub.LeasePublications, request).leases
            if not leases:
                if until_idle:
                    break
                self.stop_event.wait(self.poll_seconds)
                continue
            self.stats.leased += len(leases)
            before = replace(self.stats)
            for lease in leases:
                if self.stop_event.is_set():
                    break
                self._handle(lease)
            now = self.stats
            log.info(
                "leased %d, published %d, failed %d, lost %d, stale %d",
                len(leases),
                now.published - before.published,
                now.failed - before.failed,
                now.lost - before.lost,
                now.stale - before.stale,
            )
        return self.stats

    def _handle(self, lease: svc.Lease) -> None:
        request = svc.ReportPublicationRequest(
            distribution_id=lease.distribution.id, lease_token=lease.lease_token
        )
        try:
            result = self.publisher.publish(lease)
            request.published.external_id = result.external_id
            request.published.url = result.url
            self.stats.published += 1
        except PublishFailed as exc:
            request.failed.error = exc.error
            request.failed.retryable = exc.retryable
            request.failed.channel_unavailable = exc.channel_unavailable
            self.stats.failed += 1
        except OutcomeLost as exc:
            # Not knowing is not failing: let the lease expire so it comes back unconfirmed.
            log.warning("outcome of %s lost: %s", lease.idempotency_key, exc)
            self.stats.lost += 1
            return
        try:
            self._call(self.stub.ReportPublication, request)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            log.warning(
                "report for %s refused (lease lost): %s", lease.idempotency_key, exc.details()
            )
            self.stats.stale += 1

    def _call(self, method: grpc.UnaryUnaryMultiCallable, request: object) -> Any:
        retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_delay(self.rpc_patience_seconds),
            wait=wait_exponential_jitter(multiplier=0.2, max=5.0, jitter=0.5),
            reraise=True,
        )
        return retrying(method, request, timeout=30)
