"""Snippets of a page's text around the words a search asked for, made from the page itself."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from itertools import islice

SNIPPET_WORDS = 16
"""Words in a snippet."""
_BEFORE = 4
"""Words of the snippet before the first word found."""
_REACH = 200
"""Characters looked back for those words."""
_WORD = re.compile(r"\w+")
_TAIL = re.compile(r"\S*")
_CUT = "…"


def snippet(text: str, words: Sequence[str]) -> str:
    """About SNIPPET_WORDS words of `text` from just before the first of `words` it holds (any
    case and accents), else from its start; its line breaks kept, a cut marked with "…"."""
    found = _first(text, words)
    at = found.start() if found else 0
    head = text[max(0, at - _REACH) : at]
    before = list(_WORD.finditer(head))[-_BEFORE:] if found else []
    start = at - len(head) + before[0].start() if before else at
    after = list(islice(_WORD.finditer(text, start), SNIPPET_WORDS))
    if not after:
        return ""
    # The punctuation that ends the last word stays with it.
    end = _TAIL.match(text, after[-1].end()).end()  # type: ignore[union-attr]
    return (_CUT if start else "") + text[start:end] + (_CUT if end < len(text.rstrip()) else "")


def _first(text: str, words: Sequence[str]) -> re.Match[str] | None:
    """Where the first of `words` stands in `text` as a whole word, case and accents aside."""
    if not words:
        return None
    choices = "|".join(re.escape(_folded(word)) for word in words)
    pattern = re.compile(rf"(?<!\w)(?:{choices})(?!\w)", re.IGNORECASE)
    return pattern.search(_folded_in_place(text))


def _folded(word: str) -> str:
    """`word` without its accents."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def _folded_in_place(text: str) -> str:
    """`text` with each accented letter replaced by its base letter, so that positions in it
    are positions in `text`."""
    table: dict[int, str] = {}
    for char in set(text):
        if char.isascii():
            continue
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and len(base) == 1:
            table[ord(char)] = base
    return text.translate(table) if table else text
