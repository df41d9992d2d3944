"""Parse gemtext (text/gemini) into a Document."""

from __future__ import annotations

import re
from collections.abc import Iterator

from gemtext.model import Document, Heading, Line, Link, ListItem, Preformatted, Quote, Text

BOM = "\ufeff"
TOGGLE = "```"
# The spec's whitespace is spaces and tabs; a CR left over from CRLF counts as trailing space.
_TRAILING = " \t\r"
_SPACE = " \t"
_LINK = re.compile(r"=>[ \t]*([^ \t]+)(?:[ \t]+(.*))?", re.DOTALL)


def parse(text: str) -> Document:
    """Parse gemtext source into a Document (LF or CRLF line endings, optional leading BOM)."""
    raw = text.lstrip(BOM).split("\n")
    if raw[-1] == "":
        # A final newline ends the last line rather than starting an empty one.
        raw.pop()
    lines: list[Line] = []
    append = lines.append
    count = len(raw)
    i = 0
    while i < count:
        line = raw[i]
        i += 1
        if line.startswith(TOGGLE):
            body: list[str] = []
            closed = False
            while i < count:
                verbatim = raw[i]
                i += 1
                if verbatim.startswith(TOGGLE):
                    closed = True
                    break
                body.append(verbatim.rstrip("\r"))
            append(Preformatted(line[3:].strip(_TRAILING), tuple(body), closed))
        else:
            append(_parse_line(line))
    return Document(tuple(lines))


def numbered(doc: Document) -> Iterator[tuple[int, Line]]:
    """Each line of `doc` with its 1-based line number in the text `parse` read it from.

    Every line takes one source line but a preformatted block, numbered by its opening toggle,
    which also takes its verbatim lines and its closing toggle.
    """
    number = 1
    for line in doc:
        yield number, line
        if isinstance(line, Preformatted):
            number += 1 + len(line.lines) + line.closed
        else:
            number += 1


def _parse_line(line: str) -> Line:
    stripped = line.rstrip(_TRAILING)
    if line.startswith("* "):
        # Recognised before trailing space is dropped, so "* " alone is an empty item.
        return ListItem(stripped[2:].lstrip(_SPACE))
    if not stripped:
        return Text("")
    first = stripped[0]
    if first == "=" and stripped.startswith("=>"):
        match = _LINK.fullmatch(stripped)
        if match is None:
            return Text(stripped)
        return Link(match[1], match[2] or "")
    if first == "#":
        level = 3 if stripped.startswith("###") else 2 if stripped.startswith("##") else 1
        return Heading(level, stripped[level:].lstrip(_SPACE))
    if first == ">":
        return Quote(stripped[1:].lstrip(_SPACE))
    return Text(stripped)
