"""Decide whether a link target is safe to put in an HTML href."""

from __future__ import annotations

import re

# Schemes that browsers hand to a protocol handler or fetch; none of them runs code in the page.
SAFE_SCHEMES = frozenset(
    {
        "gemini",
        "spartan",
        "gopher",
        "finger",
        "http",
        "https",
        "ftp",
        "mailto",
        "news",
        "nntp",
        "irc",
        "ircs",
        "xmpp",
        "tel",
    }
)

_SCHEME_END = re.compile(r"[:/?#]")


def is_safe_url(url: str) -> bool:
    """Whether `url` is relative or has a scheme in SAFE_SCHEMES (case-insensitive)."""
    end = _SCHEME_END.search(url)
    if end is None or end[0] != ":":
        # No colon before the path, query or fragment: a browser cannot find a scheme either,
        # since the characters it ignores (controls, tabs, newlines) never add a colon.
        return True
    # Exact match against an allow-list: whitespace, controls or any other character a browser
    # would skip leave an unknown scheme, so " javascript:" or "java\tscript:" are refused.
    scheme = url[: end.start()]
    return scheme.isascii() and scheme.lower() in SAFE_SCHEMES
