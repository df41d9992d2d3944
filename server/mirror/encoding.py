"""Content codings without I/O: which one a client accepts, and the compressed bytes."""

from __future__ import annotations

import functools
import gzip

GZIP = "gzip"
CODINGS = (GZIP,)
"""The codings the mirror offers, preferred first."""
COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "application/xml",
        "application/atom+xml",
        "image/svg+xml",
    }
)
"""Media types worth compressing: text. Images and archives are compressed already."""
MIN_BYTES = 256
"""Smaller bodies gain nothing from compression: gzip's header and trailer alone take 18."""
_GZIP_LEVEL = 6


def compressible(content_type: str, size: int) -> bool:
    """Whether a body of `content_type` and `size` bytes is sent compressed when accepted."""
    return size >= MIN_BYTES and media_type(content_type) in COMPRESSIBLE


def media_type(content_type: str) -> str:
    """`text/html` for `text/html; charset=utf-8`."""
    return content_type.partition(";")[0].strip().lower()


def accepted(header: str | None) -> dict[str, float]:
    """The codings of an Accept-Encoding value with their weights (RFC 9110, 12.5.3); a
    weight that does not parse makes its entry count as refused."""
    weights: dict[str, float] = {}
    for item in (header or "").split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        if not coding:
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                weight = _weight(value.strip())
        weights.setdefault(coding.lower(), weight)
    return weights


@functools.lru_cache(maxsize=256)
def choose(header: str | None, offered: tuple[str, ...] = CODINGS) -> str | None:
    """The offered coding the client weighs highest (the first offered on a tie), or None
    for the body as it is: no header, nothing acceptable, or only q=0. Remembered for the
    values clients send again and again."""
    weights = accepted(header)
    wildcard = weights.get("*", 0.0)
    best, best_weight = None, 0.0
    for coding in offered:
        weight = weights.get(coding, wildcard)
        if weight > best_weight:
            best, best_weight = coding, weight
    return best


def compress(body: bytes, coding: str) -> bytes:
    """`body` in `coding`, the same bytes every time (no time stamp): the live mirror and the
    static export's `.gz` files agree."""
    if coding != GZIP:
        raise ValueError(f"unknown content coding {coding!r}")
    return gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)


def _weight(text: str) -> float:
    try:
        weight = float(text)
    except ValueError:
        return 0.0
    return weight if 0.0 <= weight <= 1.0 else 0.0
