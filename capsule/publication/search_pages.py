"""Search result pages: paged, counted, best or newest first, each result with its date,
summary and snippet, and links a Gemini client can follow to the next page.

A search is a path and a query: `/search?WORDS` is the first page of the best matches,
`/search/N?WORDS` page N, `/search/newest?WORDS` and `/search/newest/N?WORDS` the same newest
first. The query is the words alone, as Gemini's input prompt sends them, so every page of a
search is a plain link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from capsule.catalog.searching import RANKED, SearchResults

SEARCH_PATH = "/search"
NEWEST = "newest"
_SEARCH_PAGE = re.compile(r"^/search(?:/(newest))?(?:/([1-9][0-9]{0,3}))?$")


@dataclass(frozen=True, slots=True)
class SearchPage:
    """Which page of a search a path asks for."""

    newest: bool = False
    number: int = 1

    def path(self) -> str:
        """The path of this page of a search."""
        parts = [SEARCH_PATH, *([NEWEST] if self.newest else []),
                 *([str(self.number)] if self.number > 1 else [])]
        return "/".join(parts)


def search_page(path: str) -> SearchPage | None:
    """The page of a search that `path` asks for, or None if it is no search path."""
    found = _SEARCH_PAGE.match(path)
    if found is None:
        return None
    return SearchPage(found[1] is not None, int(found[2] or 1))


def results_page(query: str, page: SearchPage, results: SearchResults, per_page: int) -> str:
    """The gemtext of one page of results for `query`."""
    # Control characters (a terminal's escape sequences, NUL) become spaces: nothing a reader
    # types reaches a client's terminal or a page as anything but text.
    shown = " ".join("".join(c if c.isprintable() else " " for c in query).split())
    asked = quote(shown, safe="")
    pages = max(1, -(-results.total // per_page))
    order = "newest first" if page.newest else "best matches first"
    lines = [f"# Search: {shown}", ""]
    if results.unindexed:
        searchable = results.pages - results.unindexed
        lines += [f"Still indexing: {searchable:,} of {results.pages:,} pages searchable so far; "
                  "this search may miss the others.", ""]
    if not results.total:
        lines.append("No pages match every word of this search.")
    else:
        noun = "page matches" if results.total == 1 and not results.more else "pages match"
        count = f"More than {results.total:,}" if results.more else f"{results.total:,}"
        ranked = order
        if results.more and not page.newest:
            ranked = f"of the newest {RANKED:,} matches, title matches first, then newest"
        lines.append(f"{count} {noun}, {ranked}; page {page.number} of {pages}.")
        other = SearchPage(not page.newest)
        other_order = "best matches first" if page.newest else "newest first"
        lines.append(f"=> {other.path()}?{asked} Show {other_order}")
    lines.append("")
    for hit in results.hits:
        dated = f"{hit.published.isoformat()} " if hit.published else ""
        lines.append(f"=> {quote(hit.path)} {dated}{hit.title}")
        if hit.summary:
            lines.append(hit.summary)
        if hit.snippet.strip("…") not in hit.summary:
            lines += [f"> {line}" for line in hit.snippet.splitlines()]
        lines.append("")
    if results.total and not results.hits:
        lines += ["No results on this page.", ""]
    if page.number < pages:
        following = SearchPage(page.newest, page.number + 1)
        lines.append(f"=> {following.path()}?{asked} Next page ({following.number} of {pages})")
    if page.number > 1:
        previous = SearchPage(page.newest, min(page.number - 1, pages))
        lines.append(
            f"=> {previous.path()}?{asked} Previous page ({previous.number} of {pages})"
        )
    lines.append(f"=> {SEARCH_PATH} New search")
    return "\n".join(lines) + "\n"
