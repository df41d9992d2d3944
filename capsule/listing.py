"""Generated gemtext listings of directories that have no index page."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def directory_listing(directory: Path, path: str, root: Path) -> str:
    """A gemtext page linking to the entries of `directory` (served at `path`), dirs first.

    Dotfiles, names that are not UTF-8, special files and symlinks that leave `root` (or lead
    nowhere) are left out.
    """
    directories, files = _entries(directory, root)
    lines = [f"# Index of {_label(path)}", ""]
    if path != "/":
        lines.append("=> ../ Parent directory")
    lines += [f"=> {quote(name, safe='')}/ {_label(name)}/" for name in directories]
    lines += [f"=> {quote(name, safe='')} {_label(name)}" for name in files]
    if not directories and not files:
        lines.append("This directory is empty.")
    return "\n".join(lines) + "\n"


def _entries(directory: Path, root: Path) -> tuple[list[str], list[str]]:
    directories: list[str] = []
    files: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return directories, files
    for entry in entries:
        if entry.name.startswith(".") or not _is_utf8(entry.name):
            continue
        try:
            if entry.is_symlink() and not Path(entry.path).resolve(strict=True).is_relative_to(
                root
            ):
                continue
            if entry.is_dir():
                directories.append(entry.name)
            elif entry.is_file():
                files.append(entry.name)
        except (OSError, RuntimeError):
            continue
    return sorted(directories, key=_order), sorted(files, key=_order)


def _order(name: str) -> tuple[str, str]:
    return name.casefold(), name


def _is_utf8(name: str) -> bool:
    """Names with undecodable bytes (surrogate escapes) have no URL a client could send back."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _label(text: str) -> str:
    """Text safe inside one gemtext line: control characters (newlines) cannot start another."""
    return _CONTROL.sub("\ufffd", text)
