"""URL-path algebra: normalising a path, joining a link to a page, splitting into names, and
the gemini:// URL of a path on a host."""

from __future__ import annotations

GEMINI_PORT = 1965
"""The port a gemini:// URL means when it names none."""


def remove_dot_segments(path: str) -> str:
    """Resolve '.' and '..' segments and collapse empty ones; never climbs above '/'."""
    return _normalise(path)[0]


def join(page: str, reference: str) -> str:
    """The path a link to `reference` (a path, absolute or relative) on the page at `page`
    leads to, normalised; '..' segments stop at the root, as clients stop them."""
    return _normalise(_merge(page, reference))[0]


def join_within_root(page: str, reference: str) -> str | None:
    """Like `join`, but None when the reference's '..' segments climb above the root."""
    normalised, climbed = _normalise(_merge(page, reference))
    return None if climbed else normalised


def split_path(path: str) -> list[str] | None:
    """The names along an absolute, normalised path ("/a/b/" -> ["a", "b"]); None for a path
    that is not absolute, holds a NUL or keeps a '.' or '..' segment."""
    if not path.startswith("/") or "\x00" in path:
        return None
    names = [segment for segment in path.split("/") if segment]
    if "." in names or ".." in names:
        return None
    return names


def gemini_url(host: str, port: int | None = None, path: str = "") -> str:
    """`gemini://HOST[:PORT]` followed by `path` (already encoded): an IPv6 address goes in
    brackets, and the port is left out when it is the default or unknown (None)."""
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == GEMINI_PORT:
        return f"gemini://{host}{path}"
    return f"gemini://{host}:{port}{path}"


def _merge(page: str, reference: str) -> str:
    """RFC 3986, 5.2.3: an absolute path as it is, a relative one beside the page."""
    if reference.startswith("/"):
        return reference
    return page[: page.rfind("/") + 1] + reference


def _normalise(path: str) -> tuple[str, bool]:
    """The path with dot and empty segments resolved, and whether a '..' found nothing left to
    remove (it would have climbed above the root)."""
    segments = path.split("/")
    kept: list[str] = []
    climbed = False
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
            else:
                climbed = True
        elif segment not in (".", ""):
            kept.append(segment)
    normalised = "/" + "/".join(kept)
    if kept and segments[-1] in ("", ".", ".."):
        normalised += "/"
    return normalised, climbed
