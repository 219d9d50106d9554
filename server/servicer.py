"""The DistributionService servicer: unpack the request, call one use case, return its message.

Errors are raised as domain errors and mapped to gRPC status by the interceptor.
"""

from __future__ import annotations

import grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from distribution.v1 import resources_pb2 as pb
from server.actor import actor_of
from server.assignment import Assignment
from server.autodistribute import AutoDistributor
from server.catalog import Catalog
from server.publishing import Publishing
from server.records import Records
from server.stats import Stats


class DistributionServicer(svc_grpc.DistributionServiceServicer):
    """Thin adapter from gRPC calls to the use cases."""

    def __init__(
        self,
        catalog: Catalog,
        assignment: Assignment,
        records: Records,
        publishing: Publishing,
        stats: Stats,
        distributor: AutoDistributor,
    ) -> None:
        self._catalog = catalog
        self._assignment = assignment
        self._records = records
        self._publishing = publishing
        self._stats = stats
        self._distributor = distributor

    # --- catalog ---

    def UpsertChannel(
        self, request: svc.UpsertChannelRequest, context: grpc.ServicerContext
    ) -> pb.Channel:
        return self._catalog.upsert_channel(request)

    def GetChannel(
        self, request: svc.GetChannelRequest, context: grpc.ServicerContext
    ) -> pb.Channel:
        return self._catalog.get_channel(request)

    def ListChannels(
        self, request: svc.ListChannelsRequest, context: grpc.ServicerContext
    ) -> svc.ListChannelsResponse:
        return self._catalog.list_channels(request)

    def SetChannelAvailability(
        self, request: svc.SetChannelAvailabilityRequest, context: grpc.ServicerContext
    ) -> pb.Channel:
        return self._catalog.set_channel_availability(request, actor_of(context))

    def UpsertVideos(
        self, request: svc.UpsertVideosRequest, context: grpc.ServicerContext
    ) -> svc.UpsertVideosResponse:
        return self._catalog.upsert_videos(request)

    def GetVideo(self, request: svc.GetVideoRequest, context: grpc.ServicerContext) -> pb.Video:
        return self._catalog.get_video(request)

    def ListVideos(
        self, request: svc.ListVideosRequest, context: grpc.ServicerContext
    ) -> svc.ListVideosResponse:
        return self._catalog.list_videos(request)

    # --- distribution ---

    def Assign(
        self, request: svc.AssignRequest, context: grpc.ServicerContext
    ) -> svc.AssignResponse:
        return self._assignment.assign(request, actor_of(context))

    def Explain(
        self, request: svc.ExplainRequest, context: grpc.ServicerContext
    ) -> svc.ExplainResponse:
        return self._assignment.explain(request)

    def GetDistribution(
        self, request: svc.GetDistributionRequest, context: grpc.ServicerContext
    ) -> pb.Distribution:
        return self._records.get_distribution(request)

    def ListDistributions(
        self, request: svc.ListDistributionsRequest, context: grpc.ServicerContext
    ) -> svc.ListDistributionsResponse:
        return self._records.list_distributions(request)

    def CancelDistribution(
        self, request: svc.CancelDistributionRequest, context: grpc.ServicerContext
    ) -> pb.Distribution:
        return self._records.cancel_distribution(request, actor_of(context))

    def ListDecisions(
        self, request: svc.ListDecisionsRequest, context: grpc.ServicerContext
    ) -> svc.ListDecisionsResponse:
        return self._records.list_decisions(request)

    def GetRun(self, request: svc.GetRunRequest, context: grpc.ServicerContext) -> svc.Run:
        return self._records.get_run(request)

    def ListRuns(
        self, request: svc.ListRunsRequest, context: grpc.ServicerContext
    ) -> svc.ListRunsResponse:
        return self._records.list_runs(request)

    def AutoDistribute(
        self, request: svc.AutoDistributeRequest, context: grpc.ServicerContext
    ) -> svc.AutoDistributeResponse:
        return self._distributor.run(request, actor_of(context), context.time_remaining())

    def Retry(self, request: svc.RetryRequest, context: grpc.ServicerContext) -> svc.RetryResponse:
        return self._publishing.retry(request, actor_of(context))

    def Stats(self, request: svc.StatsRequest, context: grpc.ServicerContext) -> svc.StatsResponse:
        return self._stats.stats(request)

    # --- publishing ---

    def LeasePublications(
        self, request: svc.LeasePublicationsRequest, context: grpc.ServicerContext
    ) -> svc.LeasePublicationsResponse:
        return self._publishing.lease(request)

    def ReportPublication(
        self, request: svc.ReportPublicationRequest, context: grpc.ServicerContext
    ) -> pb.Distribution:
        return self._publishing.report(request)
