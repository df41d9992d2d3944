"""Write a Document back out as gemtext."""

from __future__ import annotations

from gemtext.model import Document, Heading, Line, Link, ListItem, Preformatted, Quote, Text
from gemtext.parser import BOM, TOGGLE

# Text starting with one of these would be read back as another line type.
_LINE_PREFIXES = (TOGGLE, "#", ">", "* ")


class UnrepresentableLine(ValueError):
    """A line that would be read back as different lines if written as gemtext."""

    def __init__(self, index: int, line: Line, reason: str) -> None:
        super().__init__(f"line {index} ({line!r}) cannot be written as gemtext: {reason}")
        self.index = index
        self.line = line
        self.reason = reason


def to_gemtext(doc: Document) -> str:
    """Render a Document as gemtext with LF line endings and a final newline.

    For any document that `parse` returns, `parse(to_gemtext(doc)) == doc`. Lines that would
    be read back as other lines (a newline inside a field, a Text that starts with "=> x",
    "#", ">", "* " or a toggle, a Link without a usable URL) raise UnrepresentableLine.
    """
    out: list[str] = []
    append = out.append
    for index, line in enumerate(doc):
        match line:
            case Text(text):
                if text.startswith(_LINE_PREFIXES) or _is_link(text):
                    raise UnrepresentableLine(index, line, "text would be read as another type")
                if index == 0 and text.startswith(BOM):
                    raise UnrepresentableLine(index, line, "the parser drops a leading BOM")
                append(text)
            case Link(url, label):
                if not url or " " in url or "\t" in url:
                    raise UnrepresentableLine(index, line, "URL is empty or has whitespace")
                if not url.rstrip("\r") and not label.strip(" \t\r"):
                    raise UnrepresentableLine(index, line, "link would be read as text")
                append(f"=> {url} {label}" if label else f"=> {url}")
            case Heading(level, text):
                append(f"{'#' * level} {text}" if text else "#" * level)
            case ListItem(text):
                append(f"* {text}")
            case Quote(text):
                append(f"> {text}" if text else ">")
            case Preformatted(alt, lines):
                if "\n" in alt or any(_breaks_block(verbatim) for verbatim in lines):
                    raise UnrepresentableLine(index, line, "a newline or toggle inside the block")
                append(TOGGLE + alt)
                out.extend(lines)
                append(TOGGLE)
        # Every other line type is one output line, checked once here.
        if "\n" in out[-1]:
            raise UnrepresentableLine(index, line, "newline inside a line")
    if not out:
        return ""
    out.append("")
    return "\n".join(out)


def _is_link(text: str) -> bool:
    return text.startswith("=>") and bool(text[2:].strip(" \t\r"))


def _breaks_block(verbatim: str) -> bool:
    return "\n" in verbatim or verbatim.startswith(TOGGLE)
