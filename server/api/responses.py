"""Use-case results as response messages (resources themselves are built in `converters`)."""

from __future__ import annotations

from importlib.metadata import version as _version

from allocator.replan import Change
from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from server.api import converters
from server.usecases.assign import AssignResult
from server.usecases.autodistribute import PlanResult
from server.usecases.errors import FailedPrecondition
from server.usecases.explain import PairExplanation
from server.usecases.publishing import Lease, ReportResult
from server.usecases.retry import RetryResult
from server.usecases.stats import StatsResult
from server.usecases.suggest import Placement

VERSION = _version("vdist")
#: Assignments and skips carried in an AutoDistribute answer; ListDistributions and
#: ListDecisions (by run_id) page the rest.
RESPONSE_ITEMS = 1000


def assign(results: list[AssignResult]) -> svc.AssignResponse:
    """One AssignResult per channel."""
    response = svc.AssignResponse()
    for r in results:
        result = response.results.add(
            channel_id=r.channel_id,
            outcome=svc.AssignOutcome.Value(f"ASSIGN_OUTCOME_{r.outcome.value}"),
            reason=r.reason,
            failed_filters=r.failed_filters,
        )
        if r.distribution is not None:
            result.distribution.CopyFrom(converters.distribution_to_proto(r.distribution))
    return response


def explain(pairs: list[PairExplanation]) -> svc.ExplainResponse:
    """One PairExplanation per pair."""
    response = svc.ExplainResponse()
    for p in pairs:
        response.pairs.add(
            video_id=p.video_id,
            channel_id=p.channel_id,
            eligible=p.eligible,
            score=p.score,
            failed_filters=p.failed_filters,
            duplicate_of=p.duplicate_of,
            blockers=p.blockers,
            # The use case's JSON has proto field names and enum names, which the constructor
            # takes as they are: json_format.ParseDict cost 40 us a transformation.
            transformations=[pb.Transformation(**t) for t in p.transformations],
            best_slot_weight=p.best_slot_weight,
            best_value=round(p.score * p.best_slot_weight),
        )
    return response


def suggest_placements(placements: list[Placement]) -> svc.SuggestPlacementsResponse:
    """The ranked options, then the blocked channels."""
    response = svc.SuggestPlacementsResponse()
    for p in placements:
        item = response.placements.add(
            channel_id=p.channel_id,
            score=p.score,
            slot_weight=p.slot_weight,
            value=p.value,
            displaces=p.displaces,
            blockers=p.blockers,
        )
        if p.scheduled_at is not None:
            item.scheduled_at.CopyFrom(converters.dt_to_ts(p.scheduled_at))
    return response


def auto_distribute(result: PlanResult) -> svc.AutoDistributeResponse:
    """The plan's summary, per-channel fill, and the first RESPONSE_ITEMS assignments and
    skips (`truncated` says whether there are more)."""
    response = svc.AutoDistributeResponse(
        run_id=result.run_id,
        solver_status=converters.enum_value(
            svc.SolverStatus, result.status.value, "SOLVER_STATUS_"
        ),
        objective=result.objective,
        best_bound=result.best_bound,
        gap=result.gap,
        candidate_count=result.candidate_count,
        slot_count=result.slot_count,
        assignment_count=len(result.assignments),
        skipped_count=len(result.skipped),
        truncated=max(len(result.assignments), len(result.skipped), len(result.changes))
        > RESPONSE_ITEMS,
        dry_run=result.dry_run,
        wall_seconds=result.wall_seconds,
        input_digest=result.input_digest,
        plan_digest=result.plan_digest,
        change_count=len(result.changes),
        state=converters.enum_value(svc.RunState, result.state.value, "RUN_STATE_"),
        changes=[converters.change_to_proto(c) for c in result.changes[:RESPONSE_ITEMS]],
    )
    for c in result.channels:
        response.channels.add(
            channel_id=c.channel_id,
            free_slots=c.free_slots,
            filled=c.filled,
            total_score=c.total_score,
        )
    for values in result.assignments[:RESPONSE_ITEMS]:
        response.assignments.append(converters.distribution_to_proto(models.Distribution(**values)))
    for skip in result.skipped[:RESPONSE_ITEMS]:
        response.skipped.add(video_id=skip.video_id, reason=skip.reason, code=skip.code)
    for use in result.quota:
        response.quota.add(
            pool_id=use.pool_id,
            window_start=converters.dt_to_ts(use.window_start),
            used=use.used,
            limit=use.limit,
        )
    return response


def run_changes(changes: list[Change], token: str) -> svc.ListRunChangesResponse:
    """A page of a run's changes."""
    return svc.ListRunChangesResponse(
        changes=[converters.change_to_proto(c) for c in changes], next_page_token=token
    )


def leases(items: list[Lease]) -> svc.LeasePublicationsResponse:
    """The leases granted to a worker."""
    response = svc.LeasePublicationsResponse()
    for item in items:
        lease = response.leases.add(
            distribution=converters.distribution_to_proto(item.distribution),
            lease_token=item.token,
            idempotency_key=item.idempotency_key,
            previous_attempt_unconfirmed=item.previous_attempt_unconfirmed,
        )
        lease.lease_expire_time.CopyFrom(converters.dt_to_ts(item.expires_at))
    return response


def report(result: ReportResult) -> pb.Distribution:
    """The distribution after a report, or FAILED_PRECONDITION for a contradicting repeat."""
    if result.conflict is not None:
        raise FailedPrecondition(
            result.conflict,
            metadata={"state": result.distribution.state},
        )
    return converters.distribution_to_proto(result.distribution)


def retry(result: RetryResult) -> svc.RetryResponse:
    """The distributions put back, and the ones skipped with why."""
    response = svc.RetryResponse(
        retried=[converters.distribution_to_proto(row) for row in result.retried]
    )
    for distribution_id, reason in result.skipped:
        response.skipped.add(distribution_id=distribution_id, reason=reason)
    return response


def stats(result: StatsResult) -> svc.StatsResponse:
    """Totals, by state and method, rates and retries, overall and per channel."""
    overall = result.overall
    response = svc.StatsResponse(
        total=overall.total,
        by_state=dict(overall.by_state),
        by_method=dict(overall.by_method),
        success_rate=overall.success_rate,
        error_rate=result.error_rate,
        retries=result.retries,
        due_now=result.due_now,
        oldest_due_seconds=result.oldest_due_seconds,
        server_version=VERSION,
    )
    for channel_id, counts in result.channels.items():
        response.channels.add(
            channel_id=channel_id,
            total=counts.total,
            published=counts.published,
            failed=counts.failed,
            success_rate=counts.success_rate,
            by_method=dict(counts.by_method),
        )
    return response
