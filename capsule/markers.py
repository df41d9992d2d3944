"""The markers an author puts on a page to place generated lists: `{{recent}}` (recent
articles, with `summaries` their summaries too), `{{series}}` (the parts of the page's series)
and `{{neighbours}}` (the articles published just before and after it)."""

from __future__ import annotations

import re

RECENT_MARKER = re.compile(
    r"^\{\{\s*recent(?:\s+(\d{1,4}))?(\s+summaries)?\s*\}\}[ \t\r]*$", re.MULTILINE
)
SERIES_MARKER = re.compile(r"^\{\{\s*series\s*\}\}[ \t\r]*$", re.MULTILINE)
NEIGHBOURS_MARKER = re.compile(r"^\{\{\s*neighbours\s*\}\}[ \t\r]*$", re.MULTILINE)
MARKERS = (RECENT_MARKER, SERIES_MARKER, NEIGHBOURS_MARKER)


def is_marker(line: str) -> bool:
    """Whether a whole line is a marker."""
    return line.startswith("{{") and any(marker.match(line) for marker in MARKERS)


def without_markers(gemtext: str) -> str:
    """A page with its marker lines removed, for capsules that keep no catalog."""
    if "{{" not in gemtext:
        return gemtext
    for marker in MARKERS:
        gemtext = marker.sub("", gemtext)
    return gemtext
