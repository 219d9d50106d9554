import pytest

from server.usecases.sources import InvalidSourceUrl, normalize_source_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Example.COM/a/b/", "https://example.com/a/b"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a?utm_source=x&b=2&a=1&fbclid=z", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a#frag", "https://example.com/a"),
        ("  https://example.com/  ", "https://example.com"),
    ],
)
def test_normalises(raw, expected):
    assert normalize_source_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "example.com/a", "ftp://example.com/a", "https://", "http://a b.com/", "https://x:99999/"],
)
def test_rejects_non_urls(raw):
    with pytest.raises(InvalidSourceUrl):
        normalize_source_url(raw)
