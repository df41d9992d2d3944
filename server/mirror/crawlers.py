"""What the mirror tells web crawlers: the robots.txt rules, in mirror paths."""

from __future__ import annotations

from urllib.parse import quote

from capsule.resources import Robots
from capsule.robots import robots_txt
from server.mirror.links import mirror_path

WEB_AGENTS = ("*",)
QUERIES = "/*?"
"""Any URL with a query: a page asked with one is the same page again, and search results
never end."""


def web_robots_txt(robots: Robots) -> bytes:
    """The robots.txt the mirror serves: the capsule's rules for every crawler, in mirror
    paths, and no URL with a query."""
    patterns: list[str] = []
    for path in robots.disallowed:
        encoded = quote(path)
        shown = mirror_path(encoded)
        # A directory's index page is shown at the directory: only that exact URL is meant.
        exact = shown.endswith("/") and not encoded.endswith("/")
        patterns += [shown + "$" if exact else shown, encoded]
    patterns.append(QUERIES)
    return robots_txt(WEB_AGENTS, list(dict.fromkeys(patterns))).encode("utf-8")
