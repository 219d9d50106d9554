"""The DistributionService servicer: request -> command, one transaction, result -> response.

Errors are raised as domain errors and mapped to gRPC status by the interceptor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeAlias

import grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from distribution.v1 import resources_pb2 as pb
from persistence.repositories import Page, Repositories
from server.api import converters, responses
from server.api import parse_catalog as catalog_in
from server.api import parse_planning as planning_in
from server.api import parse_publishing as publishing_in
from server.api import parse_records as records_in
from server.api.actor import actor_of, principal_name
from server.api.paging import PageQuery, PageTokens
from server.api.transactions import Transactions
from server.usecases import (
    assign,
    autodistribute,
    cancel,
    catalog,
    explain,
    history,
    proposals,
    publishing,
    retry,
    stats,
    suggest,
)
from server.usecases.publishing import OutagePolicy

Context: TypeAlias = grpc.ServicerContext


class DistributionServicer(svc_grpc.DistributionServiceServicer):
    """Thin adapter from gRPC calls to the use cases."""

    def __init__(
        self,
        tx: Transactions,
        tokens: PageTokens,
        outages: OutagePolicy,
        *,
        span: autodistribute.SpanFactory = autodistribute.no_span,
        proposal_ttl: timedelta = timedelta(hours=24),
    ) -> None:
        self._proposal_ttl = proposal_ttl
        self._tx = tx
        self._tokens = tokens
        self._outages = outages
        self._span = span

    # --- catalog ---

    def UpsertChannel(self, request: svc.UpsertChannelRequest, context: Context) -> pb.Channel:
        spec = catalog_in.upsert_channel(request)
        row = self._tx.write(lambda r: catalog.upsert_channel(r, spec))
        return converters.channel_to_proto(row)

    def GetChannel(self, request: svc.GetChannelRequest, context: Context) -> pb.Channel:
        channel_id = catalog_in.channel_id(request)
        return converters.channel_to_proto(
            self._tx.read(lambda r: catalog.get_channel(r, channel_id))
        )

    def ListChannels(
        self, request: svc.ListChannelsRequest, context: Context
    ) -> svc.ListChannelsResponse:
        query = catalog_in.id_page(self._tokens, catalog_in.CHANNELS, request)
        rows, token = self._page(query, lambda r: catalog.list_channels(r, query.after, query.size))
        return svc.ListChannelsResponse(
            channels=[converters.channel_to_proto(row) for row in rows], next_page_token=token
        )

    def SetChannelAvailability(
        self, request: svc.SetChannelAvailabilityRequest, context: Context
    ) -> pb.Channel:
        command = catalog_in.set_availability(request, actor_of(context))
        return converters.channel_to_proto(
            self._tx.write(lambda r: catalog.set_availability(r, command))
        )

    def UpsertVideos(
        self, request: svc.UpsertVideosRequest, context: Context
    ) -> svc.UpsertVideosResponse:
        specs = catalog_in.upsert_videos(request)
        count = self._tx.write(lambda r: catalog.upsert_videos(r, specs))
        return svc.UpsertVideosResponse(upserted_count=count)

    def GetVideo(self, request: svc.GetVideoRequest, context: Context) -> pb.Video:
        video_id = catalog_in.video_id(request)
        return converters.video_to_proto(self._tx.read(lambda r: catalog.get_video(r, video_id)))

    def ListVideos(
        self, request: svc.ListVideosRequest, context: Context
    ) -> svc.ListVideosResponse:
        query = catalog_in.id_page(self._tokens, catalog_in.VIDEOS, request)
        rows, token = self._page(query, lambda r: catalog.list_videos(r, query.after, query.size))
        return svc.ListVideosResponse(
            videos=[converters.video_to_proto(row) for row in rows], next_page_token=token
        )

    def UpsertQuotaPool(
        self, request: svc.UpsertQuotaPoolRequest, context: Context
    ) -> pb.QuotaPool:
        spec = catalog_in.upsert_quota_pool(request)
        row = self._tx.write(lambda r: catalog.upsert_quota_pool(r, spec))
        return converters.quota_pool_to_proto(row)

    def GetQuotaPool(self, request: svc.GetQuotaPoolRequest, context: Context) -> pb.QuotaPool:
        pool_id = catalog_in.quota_pool_id(request)
        return converters.quota_pool_to_proto(
            self._tx.read(lambda r: catalog.get_quota_pool(r, pool_id))
        )

    def ListQuotaPools(
        self, request: svc.ListQuotaPoolsRequest, context: Context
    ) -> svc.ListQuotaPoolsResponse:
        query = catalog_in.id_page(self._tokens, catalog_in.QUOTA_POOLS, request)
        rows, token = self._page(
            query, lambda r: catalog.list_quota_pools(r, query.after, query.size)
        )
        return svc.ListQuotaPoolsResponse(
            pools=[converters.quota_pool_to_proto(row) for row in rows], next_page_token=token
        )

    # --- distribution ---

    def Assign(self, request: svc.AssignRequest, context: Context) -> svc.AssignResponse:
        command = planning_in.assign(request, actor_of(context))
        return self._tx.idempotent(
            "Assign",
            request,
            request.request_id,
            svc.AssignResponse,
            lambda r: responses.assign(assign.assign(r, planning_in.timely(command))),
        )

    def Explain(self, request: svc.ExplainRequest, context: Context) -> svc.ExplainResponse:
        command = planning_in.explain(request)
        return responses.explain(self._tx.read(lambda r: explain.explain(r, command)))

    def SuggestPlacements(
        self, request: svc.SuggestPlacementsRequest, context: Context
    ) -> svc.SuggestPlacementsResponse:
        command = planning_in.suggest_placements(request)
        return responses.suggest_placements(self._tx.read(lambda r: suggest.suggest(r, command)))

    def AutoDistribute(
        self, request: svc.AutoDistributeRequest, context: Context
    ) -> svc.AutoDistributeResponse:
        draft = planning_in.auto_distribute(request, actor_of(context))

        def work(r: Repositories) -> svc.AutoDistributeResponse:
            command = planning_in.resolve(draft, context.time_remaining())
            command = replace(command, proposal_ttl=self._proposal_ttl)
            plan = autodistribute.auto_distribute(r, command, self._span)
            return responses.auto_distribute(plan)

        # A dry run writes its proposal only: its replay answers the same proposal.
        return self._tx.idempotent(
            "AutoDistribute", request, request.request_id, svc.AutoDistributeResponse, work
        )

    def ApplyRun(
        self, request: svc.ApplyRunRequest, context: Context
    ) -> svc.AutoDistributeResponse:
        command = planning_in.apply_run(request, actor_of(context))
        return self._tx.idempotent(
            "ApplyRun",
            request,
            request.request_id,
            svc.AutoDistributeResponse,
            lambda r: responses.auto_distribute(proposals.apply_run(r, command)),
        )

    def ListRunChanges(
        self, request: svc.ListRunChangesRequest, context: Context
    ) -> svc.ListRunChangesResponse:
        q = records_in.list_run_changes(self._tokens, request)
        changes, after = self._tx.read(
            lambda r: proposals.list_changes(r, q.run_id, q.offset, q.size)
        )
        return responses.run_changes(changes, q.next_token(self._tokens, after))

    def GetDistribution(
        self, request: svc.GetDistributionRequest, context: Context
    ) -> pb.Distribution:
        distribution_id = records_in.distribution_id(request)
        row = self._tx.read(lambda r: history.get_distribution(r, distribution_id))
        return converters.distribution_to_proto(row)

    def ListDistributions(
        self, request: svc.ListDistributionsRequest, context: Context
    ) -> svc.ListDistributionsResponse:
        q = records_in.list_distributions(self._tokens, request)
        rows, token = self._page(
            q, lambda r: history.list_distributions(r, q.filters, q.after, q.size)
        )
        return svc.ListDistributionsResponse(
            distributions=[converters.distribution_to_proto(row) for row in rows],
            next_page_token=token,
        )

    def CancelDistribution(
        self, request: svc.CancelDistributionRequest, context: Context
    ) -> pb.Distribution:
        command = records_in.cancel(request, actor_of(context))
        return converters.distribution_to_proto(self._tx.write(lambda r: cancel.cancel(r, command)))

    def ListDecisions(
        self, request: svc.ListDecisionsRequest, context: Context
    ) -> svc.ListDecisionsResponse:
        q = records_in.list_decisions(self._tokens, request)
        rows, token = self._page(q, lambda r: history.list_decisions(r, q.filters, q.after, q.size))
        return svc.ListDecisionsResponse(
            decisions=[converters.decision_to_proto(row) for row in rows], next_page_token=token
        )

    def GetRun(self, request: svc.GetRunRequest, context: Context) -> svc.Run:
        run_id = records_in.run_id(request)
        return converters.run_to_proto(self._tx.read(lambda r: history.get_run(r, run_id)))

    def ListRuns(self, request: svc.ListRunsRequest, context: Context) -> svc.ListRunsResponse:
        q = records_in.list_runs(self._tokens, request)
        rows, token = self._page(q, lambda r: history.list_runs(r, q.after, q.size))
        return svc.ListRunsResponse(
            runs=[converters.run_to_proto(row) for row in rows], next_page_token=token
        )

    def Retry(self, request: svc.RetryRequest, context: Context) -> svc.RetryResponse:
        command = publishing_in.retry(request, actor_of(context))
        return responses.retry(self._tx.write(lambda r: retry.retry(r, command)))

    def Stats(self, request: svc.StatsRequest, context: Context) -> svc.StatsResponse:
        query = publishing_in.stats(request)
        return responses.stats(self._tx.read(lambda r: stats.stats(r, query)))

    # --- publishing ---

    def LeasePublications(
        self, request: svc.LeasePublicationsRequest, context: Context
    ) -> svc.LeasePublicationsResponse:
        command = publishing_in.lease(request, principal_name(context))
        return responses.leases(self._tx.write(lambda r: publishing.lease(r, command)))

    def ReportPublication(
        self, request: svc.ReportPublicationRequest, context: Context
    ) -> pb.Distribution:
        command = publishing_in.report(request, principal_name(context))
        return responses.report(
            self._tx.write(lambda r: publishing.report(r, command, self._outages))
        )

    # ---

    def _page(
        self, query: PageQuery, work: Callable[[Repositories], Page[Any]]
    ) -> tuple[list[Any], str]:
        """One page of rows read in a transaction, and the token of the next page."""
        page = self._tx.read(work)
        return page.rows, query.next_token(self._tokens, page.rows, page.more)
