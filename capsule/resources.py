"""The closed set of results that resolving a path in a capsule can produce."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from capsule.articles import Article


@dataclass(frozen=True, slots=True)
class Page:
    """A gemtext document, as the author wrote it or as the capsule generated it."""

    gemtext: str
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class File:
    """A file on disk to stream as it is, with its MIME type."""

    path: Path
    mime: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class Redirect:
    """The resource lives at another path or URL."""

    target: str
    permanent: bool


@dataclass(frozen=True, slots=True)
class InputPrompt:
    """The resource needs a line of input from the reader (sent back as the query)."""

    prompt: str
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class NotFound:
    """Nothing is published at this path."""

    reason: str = "Not found"


@dataclass(frozen=True, slots=True)
class Gone:
    """Something was published at this path and has been removed for good."""

    reason: str = "Gone"


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Something is published at this path but cannot be read now (an operator's fault)."""

    reason: str = "Temporarily unavailable"


@dataclass(frozen=True, slots=True)
class Feed:
    """An Atom feed of articles; each protocol renders it with its own absolute URLs."""

    title: str
    path: str
    articles: tuple[Article, ...]


Resource = Page | File | Redirect | InputPrompt | NotFound | Gone | Unavailable | Feed
