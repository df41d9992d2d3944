"""Snippets of a page's text around the words a search asked for, made from the page itself.

Only a window of lines around the first match is turned into readable text: finding the
match is one regular-expression search over the page, so a long page costs little more
than a short one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import islice

from capsule.catalog.search_text import plain_text
from capsule.rules.front_lines import front_lines
from gemtext import parse
from gemtext.parser import BOM, TOGGLE

SNIPPET_WORDS = 16
"""Words in a snippet."""
_BEFORE = 4
"""Words of the snippet before the first word found."""
_REACH = 200
"""Characters looked back for those words."""
_BACK = 2 * _REACH
"""Characters of the page before a match taken into its window, markup included."""
_AHEAD = 256
"""Characters of the page after a match taken into its window at first, markup included."""
_WORD = re.compile(r"\w+")
_TAIL = re.compile(r"\S*")
_SOME_TEXT = re.compile(r"\S")
_FENCE = re.compile("^" + TOGGLE, re.MULTILINE)
_FENCE_OR_HEADING = re.compile(f"^(?:{TOGGLE}|#)", re.MULTILINE)
_CUT = "…"


def page_snippet(page: str, words: Sequence[str]) -> str:
    """About SNIPPET_WORDS words of the readable text of the gemtext `page` (the search
    index's text: no front lines, title, markers or link targets) from just before the first
    of `words` it holds (any case and accents), else from its start; lines kept, cuts marked."""
    body = front_lines(page).body(page).lstrip(BOM)
    title = _title_line(body)
    asked = tuple(words)
    if asked:
        in_body = _Searched(body, asked)
        # A word found in the raw page may stand where the index does not read (the title,
        # a link's target): then the next one after that window.
        searched_to = 0
        while (at := in_body.first(searched_to)) >= 0:
            if title is not None and title[0] <= at < title[1]:
                searched_to = title[1]
                continue
            made, searched_to = _from_window(body, title, asked, at)
            if made is not None:
                return made
    made, _ = _from_window(body, title, (), 0)
    return made or ""


def _from_window(
    body: str, title: tuple[int, int] | None, words: tuple[str, ...], at: int
) -> tuple[str | None, int]:
    """The snippet of the lines of `body` around position `at` (None if none of `words` is
    in their readable text), and where those lines end."""
    start = body.rfind("\n", 0, at - _BACK) + 1 if at > _BACK else 0
    in_block = len(_FENCE.findall(body, 0, start)) % 2 == 1
    title_seen = title is not None and title[0] < start
    before = _holds_text(body, 0, start, title if title_seen else None)
    ahead = _AHEAD
    while True:
        end = body.find("\n", at + ahead)
        end = len(body) if end < 0 else end + 1
        lines = body[start:end]
        # The window's lines read as they do in the whole page: inside a block or not.
        document = parse(TOGGLE + "\n" + lines if in_block else lines)
        text = plain_text(document, title_seen)
        after = _holds_text(body, end, len(body), None)
        made, whole = _around(text, words, before, after)
        if whole or end == len(body):
            return made, end
        ahead *= 4


def _around(
    text: str, words: tuple[str, ...], cut_before: bool, cut_after: bool
) -> tuple[str | None, bool]:
    """The snippet of `text` around the first of `words` (None if it holds none), else with
    no words from the start; and whether it holds its SNIPPET_WORDS words. `cut_before` and
    `cut_after` say whether the page goes on beyond `text`."""
    at = _Searched(text, words).first(0) if words else 0
    if at < 0:
        return None, True
    found = bool(words)
    head = text[max(0, at - _REACH) : at]
    before = list(_WORD.finditer(head))[-_BEFORE:] if found else []
    start = at - len(head) + before[0].start() if before else at
    after = list(islice(_WORD.finditer(text, start), SNIPPET_WORDS))
    if not after:
        return "", not cut_after
    # The punctuation that ends the last word stays with it.
    end = _TAIL.match(text, after[-1].end()).end()  # type: ignore[union-attr]
    cut_start = bool(start) or cut_before
    cut_end = end < len(text.rstrip()) or cut_after
    made = (_CUT if cut_start else "") + text[start:end] + (_CUT if cut_end else "")
    return made, len(after) == SNIPPET_WORDS or not cut_after


def _holds_text(body: str, start: int, end: int, title: tuple[int, int] | None) -> bool:
    """Whether `body` holds more than white space from `start` to `end`, the `title` line
    aside."""
    if title is None:
        return _SOME_TEXT.search(body, start, end) is not None
    return _holds_text(body, start, title[0], None) or _holds_text(body, title[1], end, None)


def _title_line(body: str) -> tuple[int, int] | None:
    """Where the line that is the page's title (its first heading) starts and ends."""
    in_block = False
    for mark in _FENCE_OR_HEADING.finditer(body):
        if body.startswith(TOGGLE, mark.start()):
            in_block = not in_block
        elif not in_block:
            end = body.find("\n", mark.start())
            return mark.start(), len(body) if end < 0 else end
    return None


class _Searched:
    """A text to find words in as whole words, case and accents aside."""

    def __init__(self, text: str, words: tuple[str, ...]) -> None:
        self.folded = _folded_in_place(text)
        self.lowered = self.folded.lower()
        self.words = words

    def first(self, start: int) -> int:
        """Where the first of the words stands from `start` on; -1 if nowhere."""
        if len(self.lowered) != len(self.folded):
            # Some letter is longer in lower case: positions there are not positions here.
            anywhere = _pattern(self.words).search(self.folded, start)  # type: ignore[union-attr]
            return anywhere.start() if anywhere else -1
        # A literal search for each word is many times faster than one search for any word
        # with case ignored and word boundaries around it.
        first = -1
        for ending in _endings(self.words):
            found = ending.search(self.lowered, start)
            while found and found.start() and _is_word(self.lowered[found.start() - 1]):
                found = ending.search(self.lowered, found.start() + 1)
            if found and (first < 0 or found.start() < first):
                first = found.start()
        return first


def _is_word(char: str) -> bool:
    """Whether `char` is a word character, as `\\w` says."""
    return char.isalnum() or char == "_"


@lru_cache(maxsize=64)
def _endings(words: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Each of `words` without accents, in lower case, where a word ends."""
    return tuple(
        re.compile(re.escape(_folded(word).lower()) + r"(?!\w)") for word in dict.fromkeys(words)
    )


@lru_cache(maxsize=64)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Any of `words` as a whole word, case and accents aside; None for no words."""
    if not words:
        return None
    choices = "|".join(re.escape(_folded(word)) for word in words)
    return re.compile(rf"(?<!\w)(?:{choices})(?!\w)", re.IGNORECASE)


def _folded(word: str) -> str:
    """`word` without its accents."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def _folded_in_place(text: str) -> str:
    """`text` with each accented letter replaced by its base letter, so that positions in it
    are positions in `text`."""
    if text.isascii():
        return text
    table: dict[int, str] = {}
    for char in set(text):
        base = _base(char)
        if base is not None:
            table[ord(char)] = base
    return text.translate(table) if table else text


@lru_cache(maxsize=4096)
def _base(char: str) -> str | None:
    """The letter an accented `char` is written on, if it is one."""
    if char.isascii():
        return None
    base = unicodedata.normalize("NFD", char)[0]
    return base if base != char and len(base) == 1 else None
