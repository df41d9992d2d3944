"""Checking a capsule root before publishing: broken internal links, malformed gemtext, front
lines that cannot be read, and what security.txt lacks."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote_to_bytes, urlsplit

from capsule.articles import Article, article_date, newest_first
from capsule.catalog.titles import page_title
from capsule.markers import RecentLines, expand_markers, marker_kind
from capsule.mime import is_gemtext
from capsule.paths import join_within_root
from capsule.publication.archive import ARCHIVE_PATH
from capsule.publication.entries import gemfeed_line
from capsule.publication.generated import ATOM_PATH, GEMFEED_PATH
from capsule.publication.search_pages import SEARCH_PATH
from capsule.publication.series import SERIES_PATH
from capsule.resources import AccessRefusal, File, Page, Redirect
from capsule.root import Capsule
from capsule.rules.front_lines import front_lines
from capsule.rules.meta import check_meta_files
from capsule.security_txt import SECURITY_TXT_PATH, security_txt_findings
from capsule.tree import (
    INDEX_NAME,
    BrokenLink,
    LeadsToHidden,
    LeavesRoot,
    Served,
    Unlisted,
    real_url,
    walk_served,
)
from gemtext import Link, Preformatted, Text, numbered, parse

Severity = Literal["error", "warning"]

_BOM = b"\xef\xbb\xbf"
_LINK_PREFIX = "=>"
_ALWAYS_GENERATED = frozenset(
    {ARCHIVE_PATH, GEMFEED_PATH, ATOM_PATH, SEARCH_PATH, SERIES_PATH}
)


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


def check_capsule(
    root: Path,
    *,
    generated_paths: bool = True,
    recent_size: int = 10,
    max_page_bytes: int | None = None,
) -> CheckReport:
    """Check every gemtext file under `root` and the symlinks beside them; reads only the root.

    With `generated_paths`, links to the pages a publication generates (archive, feeds,
    search) count as resolved, and `{{recent}}` markers (`recent_size` articles when they give
    no number) that would take a page past `max_page_bytes` are warned of. Raises OSError if
    `root` is not a directory.
    """
    real_root = root.resolve(strict=True)
    if not real_root.is_dir():
        raise NotADirectoryError(f"capsule root is not a directory: {root}")
    return _Checker(real_root, generated_paths, recent_size, max_page_bytes).run()


class _Checker:
    """One run over one root: a walk that lists what is served, then a pass over each page."""

    def __init__(
        self, root: Path, generated_paths: bool, recent_size: int, max_page_bytes: int | None
    ) -> None:
        self.root = root
        self.generated_paths = generated_paths
        self.recent_size = recent_size
        self.max_page_bytes = max_page_bytes
        self.site = Capsule(root)
        self.problems: list[Problem] = []
        self.files: set[str] = set()
        """URL paths of the regular files the walk found, served as they are."""
        self.directories: set[str] = {"/"}
        """URL paths, ending in '/', of the real directories the walk entered."""
        self.pages: list[tuple[str, str]] = []
        """(URL path, file system path) of every gemtext file to read."""
        self.generated: frozenset[str] = frozenset()
        self.articles: list[Article] = []
        self.marked: list[tuple[str, str]] = []
        """(URL path, text) of the pages with `{{recent}}` markers."""
        self._verdicts: dict[tuple[str, str], str | None] = {}
        self._answers: dict[str, str | None] = {}

    def run(self) -> CheckReport:
        self._walk()
        if self.generated_paths:
            self.generated = _generated(url for url, _ in self.pages)
        for url, file_path in self.pages:
            self._check_page(url, file_path)
        if self.generated_paths:
            self._check_markers()
        if SECURITY_TXT_PATH in self.files:
            self._check_security_txt()
        for ignored in check_meta_files(self.root):
            # The server skips such a line (or holds its paths back, for protect, draft and
            # published) and warns once.
            where = ignored.source.lstrip("/")
            self.problems.append(Problem("error", where, ignored.line, ignored.reason))
        problems = sorted(self.problems, key=lambda p: (p.path, p.line or 0))
        return CheckReport(tuple(problems), len(self.pages))

    def _add(self, severity: Severity, url: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(severity, url.lstrip("/") or ".", line, message))

    def _walk(self) -> None:
        """List what the capsule serves, and report the symlinks it refuses."""
        # A symlinked directory is not entered: links into it are left to the site to answer.
        for found in walk_served(self.root):
            match found:
                case Served(url=url, is_directory=True, is_link=False):
                    self.directories.add(url)
                case Served(name=name, url=url, path=path, is_directory=False):
                    self.files.add(url)
                    if is_gemtext(name):
                        self.pages.append((url, path))
                    if found.is_link:
                        self._check_link_rules(url, path, is_directory=False)
                case Served(url=url, path=path, is_directory=True, is_link=True):
                    self._check_link_rules(url, path, is_directory=True)
                case LeavesRoot(url=url, target=target):
                    self._add("error", url, None, f"symlink points outside the root, to {target}")
                case LeadsToHidden(url=url, target=target):
                    message = f"symlink points to {target}, a dotfile capsule never serves"
                    self._add("warning", url, None, message)
                case BrokenLink(url=url, error=error):
                    self._add("error", url, None, f"broken symlink: {error.strerror}")
                case Unlisted(url=url, error=error):
                    message = f"cannot list directory: {error.strerror}"
                    self._add("error", url.rstrip("/"), None, message)

    def _check_link_rules(self, url: str, path: str, is_directory: bool) -> None:
        """Report a symlink whose path and target fall under different rules: it is served
        only where both let a reader through, which is seldom what its author meant."""
        real = real_url(str(self.root), os.path.realpath(path), is_directory)
        here, there = self.site.access.rules_of(url), self.site.access.rules_of(real)
        differing = [
            name
            for name, differs in (
                ("protection or drafts", here.protection != there.protection),
                ("withdrawal", here.withdrawn != there.withdrawn),
                ("publication time", here.published != there.published),
            )
            if differs
        ]
        if differing:
            self._add(
                "warning", url.rstrip("/"), None,
                f"symlink to {real} under other rules ({', '.join(differing)}); it is served "
                "and listed only where the rules of both paths let a reader through",
            )

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
        for number, problem in front_lines(text).problems:
            self._add("error", url, number, problem)
        document = parse(text)
        dated = article_date(url)
        if dated is not None:
            self.articles.append(Article(url, dated[0], page_title(document, url)))
        if "{{" in text:
            self.marked.append((url, text))
        for number, line in numbered(document):
            match line:
                case Link():
                    self._check_link(url, number, line)
                case Text() if line.text.startswith(_LINK_PREFIX):
                    # The parser reads a link line without a URL as text.
                    self._add("warning", url, number, "empty link line")
                case Preformatted(closed=False):
                    self._add("warning", url, number, "preformatted block is never closed")

    def _check_markers(self) -> None:
        """Warn of the markers a page would leave as they are: with every dated page listed
        (the most lists can hold), filling them would take the page past its size limit."""
        recent = RecentLines(newest_first(self.articles), gemfeed_line)

        def fill(match: re.Match[str], room: int) -> tuple[str, int] | None:
            if marker_kind(match) != "recent":
                return "", 0  # series and neighbours lists are a page's few neighbours
            return recent.text(int(match.group(1) or self.recent_size), room)

        for url, text in self.marked:
            expansion = expand_markers(text, fill, self.max_page_bytes)
            for number in expansion.left:
                message = (
                    f"{{{{recent}}}} list may be left as it is: listing the articles would take "
                    f"the page past max_page_bytes ({self.max_page_bytes} bytes)"
                )
                self._add("warning", url, number, message)

    def _check_security_txt(self) -> None:
        try:
            data = self.root.joinpath(*SECURITY_TXT_PATH.split("/")[1:]).read_bytes()
        except OSError as error:
            self._add("error", SECURITY_TXT_PATH, None, f"cannot read file: {error.strerror}")
            return
        text = data.decode("utf-8", errors="replace")
        for finding in security_txt_findings(text, datetime.now(UTC)):
            self._add("warning", SECURITY_TXT_PATH, finding.line, finding.message)

    def _check_link(self, url: str, number: int, link: Link) -> None:
        # Navigation links repeat on every page; an absolute one means the same from anywhere.
        key = ("" if link.url.startswith("/") else url.rsplit("/", 1)[0], link.url)
        if key not in self._verdicts:
            self._verdicts[key] = self._verdict(url, link.url)
        message = self._verdicts[key]
        if message is not None:
            self._add("error", url, number, message)

    def _verdict(self, page: str, target: str) -> str | None:
        """What is wrong with a link to `target` on the page at `page`, or None if nothing."""
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
        path = join_within_root(page, decoded)
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
        # Anything the walk did not find (behind a symlinked directory, say) the site decides.
        resource = self.site.resolve(path)
        if isinstance(resource, Redirect):
            resource = self.site.resolve(resource.target)
        # A protected path cannot be looked into without a certificate: it counts as served.
        if isinstance(resource, Page | File | AccessRefusal) or path in self.generated:
            return None
        if directory in self.directories:
            return f"directory has no {INDEX_NAME}"
        return ""


def _generated(pages: Iterable[str]) -> frozenset[str]:
    """What a publication of these pages generates: fixed paths, a page per year, month and
    day, and the list of each directory holding articles (a date directory)."""
    paths = set(_ALWAYS_GENERATED)
    for page in pages:
        dated = article_date(page)
        if dated is not None:
            year = f"{ARCHIVE_PATH}{dated[0].year:04d}/"
            month = f"{year}{dated[0].month:02d}/"
            day = f"{month}{dated[0].day:02d}/"
            paths.update((year, month, day))
            directory = page[: page.rfind("/") + 1]
            if directory.endswith(day.removeprefix(ARCHIVE_PATH)):
                paths.add(directory)
    return frozenset(paths)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
