"""Parsing of quota pool requests and of Channel.quota_pool_ids, on generated input: a request
either becomes exactly the command it says, or INVALID_ARGUMENT naming each bad field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api import parse_catalog, parse_publishing
from server.api.catalog_fields import MAX_CHANNEL_POOLS, MAX_POOL_LIMIT
from server.api.validation import POOL_ID
from server.usecases.errors import InvalidArgument

ids = st.one_of(
    st.from_regex(POOL_ID, fullmatch=True),
    st.sampled_from(["", "bad id", "x" * 65, "-lead", "a\nb", "é"]),
)
zones = st.sampled_from(["", "UTC", "America/Los_Angeles", "Mars/Olympus", "America", "x" * 70])


def _fields(exc: InvalidArgument) -> set[str]:
    return {v.field for v in exc.violations}


@settings(max_examples=300, deadline=None, database=None)
@given(
    ids,
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-3, 5),
    zones,
    st.text(max_size=250),
)
def test_upsert_quota_pool_accepts_exactly_the_valid_pools(
    pool_id: str, limit: int, window: int, timezone: str, name: str
) -> None:
    request = svc.UpsertQuotaPoolRequest(
        pool=pb.QuotaPool(
            id=pool_id, limit=limit, window=window, timezone=timezone, display_name=name
        )
    )
    expected = set()
    if POOL_ID.fullmatch(pool_id) is None:
        expected.add("pool.id")
    if not 1 <= limit <= MAX_POOL_LIMIT:
        expected.add("pool.limit")
    if window not in (1, 2):
        expected.add("pool.window")
    if timezone not in ("", "UTC", "America/Los_Angeles"):
        expected.add("pool.timezone")
    if len(name) > 200:
        expected.add("pool.display_name")
    try:
        spec = parse_catalog.upsert_quota_pool(request)
    except InvalidArgument as exc:
        assert _fields(exc) == expected
        return
    assert not expected
    assert (spec.id, spec.limit, spec.timezone) == (pool_id, limit, timezone)
    assert spec.window == ("CALENDAR_DAY" if window == 1 else "ROLLING_24H")


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(["p1", "p2", "p3", "bad id", ""]), max_size=MAX_CHANNEL_POOLS + 2))
def test_quota_pool_ids_name_each_bad_index(pool_ids: list[str]) -> None:
    channel = pb.Channel(id="c1", timezone="UTC", quota_pool_ids=pool_ids)
    expected = set()
    if len(pool_ids) > MAX_CHANNEL_POOLS:
        expected.add("channel.quota_pool_ids")
    else:
        seen: set[str] = set()
        for i, value in enumerate(pool_ids):
            if POOL_ID.fullmatch(value) is None or value in seen:
                expected.add(f"channel.quota_pool_ids[{i}]")
            seen.add(value)
    try:
        spec = parse_catalog.upsert_channel(svc.UpsertChannelRequest(channel=channel))
    except InvalidArgument as exc:
        assert _fields(exc) == expected
        return
    assert not expected and spec.quota_pool_ids == tuple(pool_ids)


def test_pool_requests_without_a_pool_or_id_are_refused() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_catalog.upsert_quota_pool(svc.UpsertQuotaPoolRequest())
    assert "pool" in _fields(info.value)
    with pytest.raises(InvalidArgument) as info:
        parse_catalog.quota_pool_id(svc.GetQuotaPoolRequest(id="a b"))
    assert _fields(info.value) == {"id"}


@settings(max_examples=100, deadline=None, database=None)
@given(ids, st.booleans())
def test_a_failed_report_names_a_bad_quota_pool_id(pool_id: str, unavailable: bool) -> None:
    request = svc.ReportPublicationRequest(
        distribution_id="0f8fad5b-d9cb-469f-a165-70867728950e",
        lease_token="t",
        failed=svc.FailedOutcome(
            error="quota", quota_pool_id=pool_id, channel_unavailable=unavailable
        ),
    )
    bad = bool(pool_id) and (POOL_ID.fullmatch(pool_id) is None or unavailable)
    try:
        command = parse_publishing.report(request, None)
    except InvalidArgument as exc:
        assert bad and _fields(exc) == {"failed.quota_pool_id"}
        return
    assert not bad and command.outcome.quota_pool_id == pool_id  # type: ignore[union-attr]
