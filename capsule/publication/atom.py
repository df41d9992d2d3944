"""Atom 1.0 (RFC 4287) rendering of a feed, with absolute URLs supplied by the caller."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote
from xml.etree import ElementTree

from capsule.resources import Feed

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render_atom(
    feed: Feed, base_url: str, public_path: Callable[[str], str] = lambda path: path
) -> bytes:
    """The feed as Atom XML; `base_url` is scheme and host (`gemini://host`), and
    `public_path` maps capsule paths to the paths of the protocol serving it."""
    ElementTree.register_namespace("", ATOM_NAMESPACE)

    def element(
        parent: ElementTree.Element, name: str, text: str | None = None, **attributes: str
    ) -> ElementTree.Element:
        child = ElementTree.SubElement(parent, f"{{{ATOM_NAMESPACE}}}{name}", attributes)
        if text is not None:
            child.text = _XML_INVALID.sub("", text)
        return child

    def absolute(path: str) -> str:
        return base_url.rstrip("/") + quote(public_path(path))

    root = ElementTree.Element(f"{{{ATOM_NAMESPACE}}}feed")
    element(root, "id", absolute(feed.path))
    element(root, "title", feed.title)
    if feed.subtitle:
        element(root, "subtitle", feed.subtitle)
    changes = [article.last_change for article in feed.articles]
    element(root, "updated", _timestamp(max(changes, default=_EPOCH)))
    element(root, "link", rel="self", href=absolute(feed.path))
    element(root, "link", rel="alternate", href=absolute("/"))
    author = element(root, "author")
    element(author, "name", feed.title)
    for article in feed.articles:
        entry = element(root, "entry")
        url = absolute(article.path)
        element(entry, "id", url)
        element(entry, "title", article.title)
        element(entry, "updated", _timestamp(article.last_change))
        element(entry, "published", _timestamp(article.moment))
        element(entry, "link", rel="alternate", href=url)
        if article.summary:
            element(entry, "summary", article.summary)
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
