"""The one mapping between capsule paths and mirror paths, and the link rewriting built on it.

A gemtext page `/a/b.gmi` is shown at `/a/b.html`, a directory `/a/` (its `index.gmi`) at `/a/`,
and every other file at its own path. The raw gemtext of a page stays at its capsule path.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from capsule.mime import is_gemtext
from capsule.paths import join, remove_dot_segments
from capsule.tree import INDEX_NAME
from server.hostnames import matching_host

PAGE_SUFFIX = ".html"
INPUT_FIELD = "q"
"""The form field that carries an input prompt's answer, sent as the capsule query."""
PAGE_INDEX = "index" + PAGE_SUFFIX
_GMI = ".gmi"


@dataclass(frozen=True, slots=True)
class MirrorTarget:
    """What a mirror path asks for: a capsule path, as a rendered page or as raw gemtext."""

    path: str
    raw: bool


def mirror_path(capsule_path: str) -> str:
    """The mirror path showing the resource at `capsule_path` (works on encoded and decoded)."""
    head, _, name = capsule_path.rpartition("/")
    if name == INDEX_NAME:
        return head + "/"
    if not is_gemtext(name):
        return capsule_path
    stem = name.removesuffix(_GMI)
    if stem != name and stem and not is_gemtext(stem):
        return f"{head}/{stem}{PAGE_SUFFIX}"
    return f"{head}/{name}{PAGE_SUFFIX}"


def capsule_target(path: str) -> MirrorTarget:
    """The inverse of `mirror_path` for a request path: the capsule path and its rendering."""
    head, _, name = path.rpartition("/")
    if name == PAGE_INDEX:
        return MirrorTarget(head + "/", raw=False)
    stem = name.removesuffix(PAGE_SUFFIX)
    if stem != name and stem:
        page = stem if is_gemtext(stem) else stem + _GMI
        return MirrorTarget(f"{head}/{page}", raw=False)
    return MirrorTarget(path, raw=is_gemtext(name))


def raw_path(capsule_path: str) -> str | None:
    """Where the mirror serves the raw gemtext of the page at `capsule_path`, if anywhere."""
    if capsule_path.endswith("/"):
        return capsule_path + INDEX_NAME
    return capsule_path if is_gemtext(capsule_path.rpartition("/")[2]) else None


def rewrite_link(url: str, page_path: str, own_hosts: frozenset[str]) -> str:
    """The href for a link on the page at capsule path `page_path`.

    Relative links and gemini:// links to one of `own_hosts` become root-relative mirror paths;
    anything else (other capsules, the web, mailto:) is returned unchanged.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return url
    if parts.scheme and parts.scheme.lower() != "gemini":
        return url
    if parts.scheme or parts.netloc:
        if matching_host(host or "") not in own_hosts:
            # On a web page a scheme-relative link would mean http: spell out gemini:.
            return url if parts.scheme else "gemini:" + url
        path = parts.path or "/"
    elif not parts.path and not parts.query:
        return url
    else:
        path = join(page_path, parts.path) if parts.path else page_path
    rewritten = mirror_path(remove_dot_segments(path))
    if parts.query:
        rewritten += "?" + parts.query
    if parts.fragment:
        rewritten += "#" + parts.fragment
    return rewritten
