"""Generated gemtext listings of directories that have no index page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from capsule.tree import Served, list_served

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def directory_listing(
    directory: Path, path: str, root: Path, withheld: Callable[[str], bool]
) -> str:
    """A gemtext page linking to what the capsule serves in `directory` (served at `path`),
    directories first, less what `withheld` says of its URL path."""
    directories, files = _entries(directory, path, root, withheld)
    lines = [f"# Index of {_label(path)}", ""]
    if path != "/":
        lines.append("=> ../ Parent directory")
    lines += [f"=> {quote(name, safe='')}/ {_label(name)}/" for name in directories]
    lines += [f"=> {quote(name, safe='')} {_label(name)}" for name in files]
    if not directories and not files:
        lines.append("This directory is empty.")
    return "\n".join(lines) + "\n"


def _entries(
    directory: Path, path: str, root: Path, withheld: Callable[[str], bool]
) -> tuple[list[str], list[str]]:
    try:
        found = list_served(str(directory), path, root)
    except OSError:
        return [], []
    served = [item for item in found if isinstance(item, Served) and not withheld(item.url)]
    directories = [item.name for item in served if item.is_directory]
    files = [item.name for item in served if not item.is_directory]
    return sorted(directories, key=_order), sorted(files, key=_order)


def _order(name: str) -> tuple[str, str]:
    return name.casefold(), name


def _label(text: str) -> str:
    """Text safe inside one gemtext line: control characters (newlines) cannot start another."""
    return _CONTROL.sub("\ufffd", text)
