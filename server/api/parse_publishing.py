"""Publishing, Retry and Stats requests parsed into commands."""

from __future__ import annotations

from datetime import timedelta

from distribution.v1 import distribution_service_pb2 as svc
from server.api.validation import CHANNEL_ID, DISTRIBUTION_ID, POOL_ID, Violations
from server.usecases.publishing import Failed, LeaseCommand, Published, ReportCommand
from server.usecases.retry import RetryCommand
from server.usecases.stats import StatsQuery

MAX_LEASE_BATCH = 100
DEFAULT_LEASE_BATCH = 10
DEFAULT_LEASE_SECONDS = 300
MAX_LEASE_SECONDS = 3600
MAX_RETRY_IDS = 1000
MAX_LOOKAHEAD = timedelta(days=7)


def lease(request: svc.LeasePublicationsRequest, principal: str | None) -> LeaseCommand:
    """A worker's lease request, defaults applied."""
    v = Violations()
    v.check(bool(request.worker_id.strip()), "worker_id", "required")
    v.text(request.worker_id, "worker_id", max_length=128)
    v.check(0 <= request.limit <= MAX_LEASE_BATCH, "limit", f"must be 0..{MAX_LEASE_BATCH}")
    v.check(
        0 <= request.lease_seconds <= MAX_LEASE_SECONDS,
        "lease_seconds",
        f"must be 0..{MAX_LEASE_SECONDS}",
    )
    v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=1000)
    lookahead = v.duration(request, "lookahead", "lookahead", maximum=MAX_LOOKAHEAD)
    v.raise_if_any()
    return LeaseCommand(
        worker_id=request.worker_id,
        limit=request.limit or DEFAULT_LEASE_BATCH,
        lease_for=timedelta(seconds=request.lease_seconds or DEFAULT_LEASE_SECONDS),
        lookahead=lookahead or timedelta(0),
        channel_ids=tuple(request.channel_ids),
        actor=principal,
    )


def report(request: svc.ReportPublicationRequest, principal: str | None) -> ReportCommand:
    """A worker's outcome: published or failed."""
    v = Violations()
    v.identifier(request.distribution_id, "distribution_id", DISTRIBUTION_ID, "distribution")
    v.check(bool(request.lease_token), "lease_token", "required")
    v.text(request.lease_token, "lease_token", max_length=64)
    outcome = request.WhichOneof("outcome")
    v.check(outcome is not None, "outcome", "one of published or failed is required")
    if outcome == "published":
        v.text(request.published.external_id, "published.external_id", max_length=512)
        v.text(request.published.url, "published.url")
    elif outcome == "failed":
        v.text(request.failed.error, "failed.error")
        if request.failed.quota_pool_id:
            v.identifier(
                request.failed.quota_pool_id, "failed.quota_pool_id", POOL_ID, "quota pool"
            )
            v.check(
                not request.failed.channel_unavailable,
                "failed.quota_pool_id",
                "not with channel_unavailable: one cause per report",
            )
    v.raise_if_any()
    result: Published | Failed
    if outcome == "published":
        result = Published(request.published.external_id, request.published.url)
    else:
        f = request.failed
        result = Failed(f.error, f.retryable, f.channel_unavailable, f.quota_pool_id)
    return ReportCommand(request.distribution_id, request.lease_token, result, principal)


def retry(request: svc.RetryRequest, actor: str) -> RetryCommand:
    """Exactly one selector: distribution ids, a channel's failures, or every failure."""
    v = Violations()
    selectors = sum([bool(request.distribution_ids), bool(request.channel_id), request.all_failed])
    v.check(
        selectors == 1,
        "distribution_ids",
        "set exactly one of distribution_ids, channel_id, all_failed",
    )
    v.identifiers(
        request.distribution_ids,
        "distribution_ids",
        DISTRIBUTION_ID,
        "distribution",
        max_items=MAX_RETRY_IDS,
    )
    if request.channel_id:
        v.identifier(request.channel_id, "channel_id", CHANNEL_ID, "channel")
    v.raise_if_any()
    return RetryCommand(
        distribution_ids=tuple(request.distribution_ids),
        channel_id=request.channel_id,
        reset_attempts=request.reset_attempts,
        actor=actor,
    )


def stats(request: svc.StatsRequest) -> StatsQuery:
    """The scope of a Stats call."""
    v = Violations()
    v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=1000)
    start = v.time(request, "start_time", "start_time")
    end = v.time(request, "end_time", "end_time")
    if start is not None and end is not None:
        v.check(start < end, "end_time", "must be after start_time")
    v.raise_if_any()
    return StatsQuery(tuple(request.channel_ids), start, end)
