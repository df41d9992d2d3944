"""What lists need of a page's first part, its title and summary text, read with str methods:
the same as parsing it as gemtext gives (`titles.page_title`, `summaries.summary`), without
building a document, for the first listing of every page of a capsule."""

from __future__ import annotations

from dataclasses import dataclass

from capsule.summaries import SUMMARY_LINES, summary_line_text
from gemtext import Document, Text, first_paragraph
from gemtext.parser import BOM, TOGGLE

_TRAILING = " \t\r"
_SPACE = " \t"


@dataclass(frozen=True, slots=True)
class Head:
    """The first heading of a page's text and the text its summary comes from."""

    heading: str | None
    """The text of the first heading of any level (maybe ""), None if there is none."""
    about: str
    """A `Summary:` line among the first SUMMARY_LINES lines, else the first prose paragraph,
    else "" (white space as written)."""


def read_head(body: str, with_summary: bool = True) -> Head:
    """The heading and summary text of gemtext `body` (front lines already taken off), read
    only as far as they need; without `with_summary`, only the heading is looked for."""
    heading: str | None = None
    found_line: str | None = None
    paragraph: str | None = None
    number = 0
    """Lines of the document so far: a preformatted block is one."""
    # A `Summary:` line has a colon: without one, the first paragraph is the last word.
    summary_lines = SUMMARY_LINES if ":" in body else 0
    verbatim = False
    text = body.lstrip(BOM)
    end = len(text)
    start = 0
    # Line by line as far as needed: most pages say all in their first few lines.
    while start < end:
        stop = text.find("\n", start)
        if stop < 0:
            stop = end
        line = text[start:stop]
        start = stop + 1
        if verbatim:
            verbatim = not line.startswith(TOGGLE)
            continue
        number += 1
        # Told apart by the first character, as the parser does (trailing space aside).
        first = line[:1]
        if first == "#":
            if heading is None:
                stripped = line.rstrip(_TRAILING)
                level = min(3, len(stripped) - len(stripped.lstrip("#")))
                heading = stripped[level:].lstrip(_SPACE)
        elif first == "`" and line.startswith(TOGGLE):
            verbatim = True
        elif first != ">" and not (first == "*" and line.startswith("* ")):
            stripped = line.rstrip(_TRAILING)
            if stripped and (first != "=" or _not_a_link(stripped)):
                if found_line is None and number <= summary_lines and ":" in stripped:
                    found_line = summary_line_text(stripped)
                if paragraph is None and _is_prose(stripped):
                    paragraph = stripped
        if heading is not None and (
            not with_summary
            or found_line is not None
            or (paragraph is not None and number >= summary_lines)
        ):
            break
    return Head(heading, (found_line or paragraph or "") if with_summary else "")


def _not_a_link(line: str) -> bool:
    """Whether a line starting with "=" is text: "=>" alone is, for want of a target."""
    return not line.startswith("=>") or line == "=>"


def _is_prose(text: str) -> bool:
    """Whether a text line reads as prose, by gemtext's own rule for first paragraphs."""
    return first_paragraph(Document((Text(text),))) is not None
