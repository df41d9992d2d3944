"""The gemtext document model: one immutable value per line type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Text:
    """A plain text line; the empty string is a blank line."""

    text: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link line; `label` is "" when the line has none."""

    url: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading line of level 1, 2 or 3."""

    level: int
    text: str

    def __post_init__(self) -> None:
        if self.level not in (1, 2, 3):
            raise ValueError(f"heading level must be 1, 2 or 3, not {self.level!r}")


@dataclass(frozen=True, slots=True)
class ListItem:
    """An unordered list item line."""

    text: str


@dataclass(frozen=True, slots=True)
class Quote:
    """A quote line."""

    text: str


@dataclass(frozen=True, slots=True)
class Preformatted:
    """A whole preformatted block: the opening toggle's alt text and its verbatim lines.

    `closed` is False when the source ended before a closing toggle; as a fact about the
    source, not the document, it takes no part in equality.
    """

    alt: str
    lines: tuple[str, ...]
    closed: bool = field(default=True, compare=False)


Line = Text | Link | Heading | ListItem | Quote | Preformatted


@dataclass(frozen=True, slots=True)
class Document:
    """An immutable sequence of gemtext lines."""

    lines: tuple[Line, ...] = ()

    def __iter__(self) -> Iterator[Line]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)
