"""Checking a capsule root before publishing: broken internal links and malformed gemtext."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote_to_bytes, urlsplit

from capsule.articles import article_date
from capsule.mime import is_gemtext
from capsule.publication import ARCHIVE_PATH, ATOM_PATH, GEMFEED_PATH, SEARCH_PATH
from capsule.resources import File, Page, Redirect
from capsule.site import INDEX_NAME, Capsule
from gemtext import Link, parse
from gemtext.parser import TOGGLE

Severity = Literal["error", "warning"]

_BOM = b"\xef\xbb\xbf"
_LINK_PREFIX = "=>"
_ALWAYS_GENERATED = frozenset({ARCHIVE_PATH, GEMFEED_PATH, ATOM_PATH, SEARCH_PATH})


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding in one file; `path` is relative to the root, `line` counts from 1."""

    severity: Severity
    path: str
    line: int | None
    message: str

    def format(self) -> str:
        """The problem as `path:line: severity: message` (no line part if it has none)."""
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Every problem found, sorted by path then line, and how many gemtext files were read."""

    problems: tuple[Problem, ...]
    files_checked: int

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that make the capsule wrong as published."""
        return tuple(problem for problem in self.problems if problem.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems worth a look that do not break anything."""
        return tuple(problem for problem in self.problems if problem.severity == "warning")

    def format(self) -> str:
        """One line per problem, then a summary line; no final newline."""
        summary = (
            f"{_count(self.files_checked, 'file')} checked, "
            f"{_count(len(self.errors), 'error')}, {_count(len(self.warnings), 'warning')}"
        )
        return "\n".join([*(problem.format() for problem in self.problems), summary])


def check_capsule(root: Path, *, generated_paths: bool = True) -> CheckReport:
    """Check every gemtext file under `root` and the symlinks beside them; reads only the root.

    With `generated_paths`, links to the pages a publication generates (archive, feeds,
    search) count as resolved. Raises OSError if `root` is not a directory.
    """
    real_root = root.resolve(strict=True)
    if not real_root.is_dir():
        raise NotADirectoryError(f"capsule root is not a directory: {root}")
    return _Checker(real_root, generated_paths).run()


class _Checker:
    """One run over one root: a walk that lists what is served, then a pass over each page."""

    def __init__(self, root: Path, generated_paths: bool) -> None:
        self.root = root
        self.generated_paths = generated_paths
        self.site = Capsule(root)
        self.problems: list[Problem] = []
        self.files: set[str] = set()
        """URL paths of the regular files the walk found, served as they are."""
        self.directories: set[str] = {"/"}
        """URL paths, ending in '/', of the real directories the walk entered."""
        self.pages: list[tuple[str, str]] = []
        """(URL path, file system path) of every gemtext file to read."""
        self.generated: frozenset[str] = frozenset()
        self._verdicts: dict[tuple[str, str], str | None] = {}
        self._answers: dict[str, str | None] = {}

    def run(self) -> CheckReport:
        self._walk()
        if self.generated_paths:
            self.generated = _generated(url for url, _ in self.pages)
        for url, file_path in self.pages:
            self._check_page(url, file_path)
        problems = sorted(self.problems, key=lambda p: (p.path, p.line or 0))
        return CheckReport(tuple(problems), len(self.pages))

    def _add(self, severity: Severity, url: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(severity, url.lstrip("/") or ".", line, message))

    def _walk(self) -> None:
        """List every file outside dot-directories, without following symlinked directories."""
        pending = [("", str(self.root))]
        while pending:
            prefix, directory = pending.pop()
            try:
                with os.scandir(directory) as listing:
                    entries = list(listing)
            except OSError as error:
                self._add("error", prefix, None, f"cannot list directory: {error.strerror}")
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                url = f"{prefix}/{entry.name}"
                try:
                    if entry.is_symlink():
                        if not self._symlink_stays_inside(entry, url) or entry.is_dir():
                            # Links into a symlinked directory are answered by the site itself.
                            continue
                    elif entry.is_dir(follow_symlinks=False):
                        self.directories.add(url + "/")
                        pending.append((url, entry.path))
                        continue
                    if not entry.is_file():
                        continue
                except OSError:
                    continue
                if "\\" not in entry.name:
                    # The site refuses backslashes, so such files are left to it to answer.
                    self.files.add(url)
                if is_gemtext(entry.name):
                    self.pages.append((url, entry.path))

    def _symlink_stays_inside(self, entry: os.DirEntry[str], url: str) -> bool:
        target = Path(os.path.realpath(entry.path))
        if target != self.root and not target.is_relative_to(self.root):
            self._add("error", url, None, f"symlink points outside the root, to {target}")
            return False
        try:
            os.stat(entry.path)
        except OSError as error:
            self._add("error", url, None, f"broken symlink: {error.strerror}")
            return False
        return True

    def _check_page(self, url: str, file_path: str) -> None:
        try:
            with open(file_path, "rb") as file:
                data = file.read()
        except OSError as error:
            self._add("error", url, None, f"cannot read file: {error.strerror}")
            return
        if data.startswith(_BOM):
            self._add("warning", url, 1, "starts with a byte order mark")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            first_bad = data.count(b"\n", 0, error.start) + 1
            self._add("error", url, first_bad, f"not valid UTF-8 (byte 0x{data[error.start]:02x})")
            # The site serves such a page with replacement characters, links and all.
            text = data.decode("utf-8", errors="replace")
        base = url.rsplit("/", 1)[0]
        opened: int | None = None
        for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
            if line.startswith(TOGGLE):
                opened = number if opened is None else None
            elif opened is None and line.startswith(_LINK_PREFIX):
                self._check_link(url, number, base, line)
        if opened is not None:
            self._add("warning", url, opened, "preformatted block is never closed")

    def _check_link(self, url: str, number: int, base: str, line: str) -> None:
        link = parse(line).lines[0]
        if not isinstance(link, Link):
            self._add("warning", url, number, "empty link line")
            return
        # Navigation links repeat on every page; an absolute one means the same from anywhere.
        key = ("" if link.url.startswith("/") else base, link.url)
        if key not in self._verdicts:
            self._verdicts[key] = self._verdict(base, link.url)
        message = self._verdicts[key]
        if message is not None:
            self._add("error", url, number, message)

    def _verdict(self, base: str, target: str) -> str | None:
        """What is wrong with a link to `target` from a page in `base`, or None if nothing."""
        try:
            parts = urlsplit(target)
        except ValueError:
            return f"malformed link to {target}"
        if parts.scheme or parts.netloc or not parts.path:
            return None
        try:
            decoded = unquote_to_bytes(parts.path).decode("utf-8")
        except UnicodeDecodeError:
            return f"broken link to {target} (bad percent-encoding)"
        path = _join(base, decoded)
        if path is None:
            return f"link to {target} climbs above the root"
        reason = self._why_missing(path)
        if reason is None:
            return None
        return f"broken link to {target} ({reason})" if reason else f"broken link to {target}"

    def _why_missing(self, path: str) -> str | None:
        """None if `path` is served, else why not ("" when it simply does not exist)."""
        if path not in self._answers:
            self._answers[path] = self._look_up(path)
        return self._answers[path]

    def _look_up(self, path: str) -> str | None:
        directory = path if path.endswith("/") else path + "/"
        if path in self.files or (
            directory in self.directories and directory + INDEX_NAME in self.files
        ):
            return None
        # Anything the walk did not see (dot segments, symlinked directories) the site decides.
        resource = self.site.resolve(path)
        if isinstance(resource, Redirect):
            resource = self.site.resolve(resource.target)
        if isinstance(resource, Page | File) or path in self.generated:
            return None
        if directory in self.directories:
            return f"directory has no {INDEX_NAME}"
        return ""


def _join(base: str, path: str) -> str | None:
    """Resolve a decoded link path against its page's directory; None if it climbs above '/'."""
    segments = (path if path.startswith("/") else f"{base}/{path}").split("/")
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if not kept:
                return None
            kept.pop()
        elif segment not in (".", ""):
            kept.append(segment)
    resolved = "/" + "/".join(kept)
    if kept and segments[-1] in ("", ".", ".."):
        resolved += "/"
    return resolved


def _generated(pages: Iterable[str]) -> frozenset[str]:
    """What a publication of these pages generates: fixed paths, a page per year and month."""
    paths = set(_ALWAYS_GENERATED)
    for page in pages:
        dated = article_date(page)
        if dated is not None:
            year = f"{ARCHIVE_PATH}{dated[0].year:04d}/"
            paths.update((year, f"{year}{dated[0].month:02d}/"))
    return frozenset(paths)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
