import pytest

from server.api.paging import PageTokens
from server.usecases.errors import InvalidArgument


def test_round_trip_and_binding():
    tokens = PageTokens("secret")
    token = tokens.encode("videos", {"a": 1}, ["v9"])
    assert tokens.decode(token, "videos", {"a": 1}) == ["v9"]
    assert tokens.decode("", "videos", {}) is None
    for listing, filters in (("channels", {"a": 1}), ("videos", {"a": 2})):
        with pytest.raises(InvalidArgument):
            tokens.decode(token, listing, filters)


def test_forgery_is_refused():
    token = PageTokens("secret").encode("videos", {}, ["v9"])
    with pytest.raises(InvalidArgument) as err:
        PageTokens("other").decode(token, "videos", {})
    assert err.value.violations[0].field == "page_token"
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidArgument):
        PageTokens("secret").decode(tampered, "videos", {})
