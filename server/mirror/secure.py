"""Plain HTTP next to HTTPS, without I/O: the redirect, the ACME challenge answer, HSTS."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

from server.mirror.responses import CACHE_NONE, SECURITY_HEADERS, Headers, Mirror, Response

HTTPS_PORT = 443


def https_url(origin: str, target: str, port: int) -> str:
    """The https:// URL of `target` (path and query as sent) on the host `origin` names."""
    host = urlsplit(origin).hostname or ""
    if ":" in host:
        host = f"[{host}]"
    authority = host if port == HTTPS_PORT else f"{host}:{port}"
    return f"https://{authority}{target}"


def to_https(origin: str, target: str, port: int) -> Response:
    """308 to the same resource over HTTPS (308, not 301: the method stays the same)."""
    headers = (
        ("Location", https_url(origin, target, port)),
        ("Content-Length", "0"),
        ("Cache-Control", CACHE_NONE),
    )
    return Response(HTTPStatus.PERMANENT_REDIRECT, headers + SECURITY_HEADERS)


def challenge_answer(mirror: Mirror, key_authorization: bytes | None) -> Response:
    """The key authorization an ACME server fetches over plain HTTP, or 404 if none is pending."""
    if key_authorization is None:
        return mirror.refusal(HTTPStatus.NOT_FOUND)
    headers = (
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(key_authorization))),
        ("Cache-Control", CACHE_NONE),
    )
    return Response(HTTPStatus.OK, headers + SECURITY_HEADERS, key_authorization)


def hsts(max_age: int) -> Headers:
    """The Strict-Transport-Security header of every HTTPS answer; none for a max-age of 0."""
    return (("Strict-Transport-Security", f"max-age={max_age}"),) if max_age else ()
