"""The capsule's icon: the emoji of its `favicon.txt` (a Gemini convention), drawn as SVG."""

from __future__ import annotations

from capsule.resources import File
from capsule.root import Capsule

FAVICON_TEXT = "/favicon.txt"
FAVICON_PATH = "/favicon.svg"
"""Where the mirror draws the icon, unless the capsule has a file of its own there."""
MAX_FAVICON_BYTES = 64
"""Room for the longest emoji sequences (a family, a flag with its tags); more is no icon."""


def favicon_emoji(capsule: Capsule) -> str | None:
    """The emoji in the capsule's favicon.txt: one line of UTF-8 text, up to 64 bytes. None
    without the file, or when it holds nothing, several lines or more than that."""
    resource = capsule.resolve(FAVICON_TEXT)
    if not isinstance(resource, File) or resource.size > MAX_FAVICON_BYTES:
        return None
    try:
        with resource.path.open("rb") as file:
            text = file.read(MAX_FAVICON_BYTES + 1).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if len(text.encode("utf-8")) > MAX_FAVICON_BYTES or len(text.splitlines()) != 1:
        return None
    return text
