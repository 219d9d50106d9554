"""The shared field checks: short quotes, bounded violation lists, NUL anywhere in a request."""

from __future__ import annotations

import pytest

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from server.api.validation import MAX_VIOLATIONS, VIDEO_ID, Violations, quote, refuse_nul
from server.usecases.errors import InvalidArgument


def test_quote_cuts_long_values_and_says_how_long():
    assert quote("abc") == "'abc'"
    long = quote("x" * 10_000)
    assert len(long) < 140 and "10000 characters" in long


def test_violations_are_capped_with_a_count_of_the_rest():
    v = Violations()
    for i in range(100):
        v.identifier(f"bad id {i}", f"ids[{i}]", VIDEO_ID, "video")
    with pytest.raises(InvalidArgument) as info:
        v.raise_if_any()
    items = info.value.violations
    assert len(items) == MAX_VIOLATIONS + 1
    assert items[-1].description == f"and {100 - MAX_VIOLATIONS} more violations"


def test_ids_match_whole_not_before_a_final_newline():
    v = Violations()
    assert not v.identifier("abc\n", "id", VIDEO_ID, "video")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (svc.GetChannelRequest(id="a\x00"), "id"),
        (
            svc.UpsertVideosRequest(videos=[pb.Video(id="v", tags=["ok", "n\x00"])]),
            "videos[0].tags[1]",
        ),
        (
            svc.UpsertChannelRequest(
                channel=pb.Channel(preferences=pb.Preferences(tag_weights={"k\x00": 1.0}))
            ),
            "channel.preferences.tag_weights",
        ),
    ],
)
def test_refuse_nul_names_the_field(request_, field):
    with pytest.raises(InvalidArgument) as info:
        refuse_nul(request_)
    assert [v.field for v in info.value.violations] == [field]


def test_refuse_nul_passes_clean_requests():
    refuse_nul(svc.UpsertVideosRequest(videos=[pb.Video(id="v", tags=["a"], title="é ✓")]))
