"""The closed set of results that resolving a path in a capsule can produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from capsule.articles import Article, ArticlePlace


@dataclass(frozen=True, slots=True)
class Page:
    """A gemtext document, as the author wrote it or as the capsule generated it."""

    gemtext: str
    lang: str | None = None
    modified: float | None = field(default=None, compare=False)
    """When its file was last written (seconds since the epoch); None for a generated page.
    A fact about the file, not the document, so it takes no part in equality."""
    article: ArticlePlace | None = field(default=None, compare=False)
    """For an article that lists show: its publication facts and its neighbours."""


@dataclass(frozen=True, slots=True)
class File:
    """A file on disk to stream as it is, with its MIME type."""

    path: Path
    mime: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class Redirect:
    """The resource lives at another path or URL, never one that reads as another host."""

    target: str
    permanent: bool

    def __post_init__(self) -> None:
        if (problem := host_confusion(self.target)) is not None:
            raise ValueError(f"redirect target {self.target!r}: {problem}")


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
    subtitle: str = ""


@dataclass(frozen=True, slots=True)
class Robots:
    """A generated robots.txt: the path prefixes crawlers are asked not to request. Each
    protocol writes it for its own crawlers and paths."""

    disallowed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CertificateRequired:
    """The path is protected and the request came without a client certificate."""

    reason: str = "A client certificate is needed for this page"


@dataclass(frozen=True, slots=True)
class CertificateNotValid:
    """The path is protected and the client certificate is outside its validity dates."""

    reason: str = "This client certificate is expired or not yet valid"


@dataclass(frozen=True, slots=True)
class CertificateNotAuthorised:
    """The path is protected and the client certificate is not one it admits."""

    reason: str = "This client certificate is not allowed to see this page"


AccessRefusal = CertificateRequired | CertificateNotValid | CertificateNotAuthorised
"""Why a protected path is not served to this request."""

Resource = (
    Page
    | File
    | Redirect
    | InputPrompt
    | NotFound
    | Gone
    | Unavailable
    | Feed
    | Robots
    | AccessRefusal
)


def host_confusion(target: str) -> str | None:
    """Why a browser or client could read `target` as another host than it says, if it could.

    Browsers read a backslash as a slash and drop control characters, so `/\\evil.example/`
    and `//evil.example/` would both send readers to another host.
    """
    if any(ord(character) < 0x20 or 0x7F <= ord(character) <= 0x9F for character in target):
        return "control character"
    if "\\" in target:
        return "backslash"
    if target.startswith("//"):
        return "scheme-relative URL (another host); write the scheme"
    return None


def target_problem(target: str) -> str | None:
    """Why `target` may not be a configured redirect target, or None if it is an absolute path
    or a full URL that cannot be read as another host."""
    if (confusion := host_confusion(target)) is not None:
        return confusion
    try:
        parts = urlsplit(target)
    except ValueError:
        return "an absolute path or a full URL"
    if parts.scheme and parts.netloc:
        return None
    if not parts.scheme and not parts.netloc and target.startswith("/"):
        return None
    return "an absolute path or a full URL"
