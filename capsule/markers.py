"""The `{{recent}}` marker an author puts on a page to place a list of recent articles."""

from __future__ import annotations

import re

RECENT_MARKER = re.compile(r"^\{\{\s*recent(?:\s+(\d{1,4}))?\s*\}\}[ \t\r]*$", re.MULTILINE)


def is_marker(line: str) -> bool:
    """Whether a whole line is a `{{recent}}` marker."""
    return line.startswith("{{") and RECENT_MARKER.match(line) is not None
