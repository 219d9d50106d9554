"""Requests about distributions, decisions and runs parsed into commands and page queries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api import converters
from server.api.paging import Listing, PageQuery, PageTokens, page_query
from server.api.validation import CHANNEL_ID, DISTRIBUTION_ID, VIDEO_ID, Violations, only_id
from server.usecases.cancel import CancelCommand
from server.usecases.errors import InvalidArgument

DISTRIBUTIONS = Listing("distributions", time_key="create_time")
DECISIONS = Listing("decisions", time_key="time")
RUNS = Listing("runs", time_key="create_time")
RUN_ID = DISTRIBUTION_ID  # both are UUIDs


def distribution_id(request: svc.GetDistributionRequest) -> str:
    """The id of GetDistribution."""
    return only_id(request.id, "id", DISTRIBUTION_ID, "distribution")


def run_id(request: svc.GetRunRequest) -> str:
    """The id of GetRun."""
    return only_id(request.run_id, "run_id", RUN_ID, "run")


def cancel(request: svc.CancelDistributionRequest, actor: str) -> CancelCommand:
    """The distribution to cancel, and why."""
    v = Violations()
    v.identifier(request.id, "id", DISTRIBUTION_ID, "distribution")
    v.text(request.reason, "reason")
    v.raise_if_any()
    return CancelCommand(request.id, request.reason, actor)


def list_distributions(tokens: PageTokens, request: svc.ListDistributionsRequest) -> PageQuery:
    """Distributions filtered by video, channel, run, state and method."""
    v = Violations()
    size = v.page_size(request.page_size)
    _optional_id(v, request.video_id, "video_id", VIDEO_ID, "video")
    _optional_id(v, request.channel_id, "channel_id", CHANNEL_ID, "channel")
    _optional_id(v, request.run_id, "run_id", RUN_ID, "run")
    v.check(request.state in pb.DistributionState.values(), "state", "unknown value")
    v.check(request.method in pb.DistributionMethod.values(), "method", "unknown value")
    v.raise_if_any()
    filters = _set_fields(request, ("video_id", "channel_id", "run_id"))
    if request.state:
        filters["state"] = converters.enum_name(
            pb.DistributionState, request.state, "DISTRIBUTION_STATE_"
        )
    if request.method:
        filters["method"] = converters.enum_name(
            pb.DistributionMethod, request.method, "DISTRIBUTION_METHOD_"
        )
    return page_query(tokens, DISTRIBUTIONS, filters, size, request.page_token)


def list_decisions(tokens: PageTokens, request: svc.ListDecisionsRequest) -> PageQuery:
    """Decisions filtered by video, channel, distribution and run."""
    v = Violations()
    size = v.page_size(request.page_size)
    _optional_id(v, request.video_id, "video_id", VIDEO_ID, "video")
    _optional_id(v, request.channel_id, "channel_id", CHANNEL_ID, "channel")
    _optional_id(v, request.distribution_id, "distribution_id", DISTRIBUTION_ID, "distribution")
    _optional_id(v, request.run_id, "run_id", RUN_ID, "run")
    v.raise_if_any()
    filters = _set_fields(request, ("video_id", "channel_id", "distribution_id", "run_id"))
    return page_query(tokens, DECISIONS, filters, size, request.page_token)


def list_runs(tokens: PageTokens, request: svc.ListRunsRequest) -> PageQuery:
    """Runs, newest first."""
    v = Violations()
    size = v.page_size(request.page_size)
    v.raise_if_any()
    return page_query(tokens, RUNS, {}, size, request.page_token)


RUN_CHANGES = "run_changes"


@dataclass(frozen=True)
class RunChangesQuery:
    """A page of one run's changes, from `offset`."""

    run_id: str
    offset: int
    size: int

    def next_token(self, tokens: PageTokens, offset: int | None) -> str:
        """The token of the page from `offset`, or '' when none follows."""
        if offset is None:
            return ""
        return tokens.encode(RUN_CHANGES, {"run_id": self.run_id}, [str(offset)])


def list_run_changes(tokens: PageTokens, request: svc.ListRunChangesRequest) -> RunChangesQuery:
    """A run's changes, in plan order."""
    v = Violations()
    v.identifier(request.run_id, "run_id", RUN_ID, "run")
    size = v.page_size(request.page_size)
    v.raise_if_any()
    cursor = tokens.decode(request.page_token, RUN_CHANGES, {"run_id": request.run_id})
    offset = 0
    if cursor is not None:
        if len(cursor) != 1 or not str(cursor[0]).isdigit():
            raise InvalidArgument.one("page_token", "malformed cursor")
        offset = int(cursor[0])
    return RunChangesQuery(request.run_id, offset, size)


def _set_fields(request: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The request's set fields among `names`, which the listing is filtered (and its page
    tokens bound) by."""
    return {name: value for name in names if (value := getattr(request, name))}


def _optional_id(
    v: Violations, value: str, field: str, pattern: re.Pattern[str], kind: str
) -> None:
    if value:
        v.identifier(value, field, pattern, kind)
