"""MIME types of capsule files, decided by file extension."""

from __future__ import annotations

import mimetypes

GEMTEXT = "text/gemini"
GEMTEXT_EXTENSIONS = frozenset({".gmi", ".gemini"})
FALLBACK = "application/octet-stream"

# Types the platform's mime.types may lack or get wrong; these win.
_KNOWN = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".xml": "application/xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
    ".css": "text/css",
    ".html": "text/html",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/opus",
    ".flac": "audio/flac",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".tar": "application/x-tar",
}

_TEXTUAL_SUFFIXES = ("+xml", "+json")


def is_gemtext(name: str) -> bool:
    """Tell whether a file name has a gemtext extension."""
    return _suffix(name) in GEMTEXT_EXTENSIONS


def mime_type(name: str) -> str:
    """Return the MIME type for a file name, with a charset for text types."""
    suffix = _suffix(name)
    if suffix in GEMTEXT_EXTENSIONS:
        mime = GEMTEXT
    else:
        mime = _KNOWN.get(suffix) or mimetypes.types_map.get(suffix) or FALLBACK
    return f"{mime}; charset=utf-8" if is_textual(mime) else mime


def is_textual(essence: str) -> bool:
    """Whether a MIME type (without parameters) is text that needs a charset."""
    return (
        essence.startswith("text/")
        or essence.endswith(_TEXTUAL_SUFFIXES)
        or essence == "application/json"
    )


def _suffix(name: str) -> str:
    """The lowercase extension of a file name, dot included ("" for none, or a dotfile), as
    `os.path.splitext` finds it, without its cost (it runs for every file of a scan)."""
    dot = name.rfind(".")
    start = name.rfind("/") + 1
    if dot <= start or not name[start:dot].lstrip("."):
        return ""
    return name[dot:].lower()
