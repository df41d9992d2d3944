"""Plain HTTP next to HTTPS, without sockets: the redirect, the challenge answer, HSTS."""

from __future__ import annotations

import pytest

from server.mirror.secure import hsts, https_url, to_https


@pytest.mark.parametrize(
    ("origin", "target", "port", "url"),
    [
        ("http://example.org", "/a/?q=1", 443, "https://example.org/a/?q=1"),
        ("http://example.org:80", "/", 443, "https://example.org/"),
        ("http://example.org:8080", "/", 8443, "https://example.org:8443/"),
        ("http://[::1]:8080", "/x", 8443, "https://[::1]:8443/x"),
        ("http://127.0.0.1", "/x", 443, "https://127.0.0.1/x"),
    ],
)
def test_https_url_keeps_the_name_path_and_query_and_takes_the_https_port(
    origin: str, target: str, port: int, url: str
) -> None:
    assert https_url(origin, target, port) == url


def test_plain_http_is_redirected_permanently_keeping_the_method() -> None:
    response = to_https("http://example.org", "/a", 443)
    assert response.status == 308
    assert dict(response.headers)["Location"] == "https://example.org/a"
    assert response.body == b""


def test_hsts_is_sent_only_with_a_max_age() -> None:
    assert hsts(0) == ()
    assert hsts(31536000) == (("Strict-Transport-Security", "max-age=31536000"),)
