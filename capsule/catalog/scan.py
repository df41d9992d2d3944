"""Listing the gemtext and `.meta` files under a capsule root, re-listing only directories that
changed."""

from __future__ import annotations

import errno
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from capsule.mime import is_gemtext
from capsule.rules.meta import META_NAME
from capsule.tree import real_url, served_inside, served_name

# A directory changed this recently may change again within its mtime's granularity.
_SETTLE_NS = 2_000_000_000
_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM})


@dataclass(frozen=True, slots=True)
class Listing:
    """What one scan saw: files of the directories it listed, and directories now gone."""

    files: dict[str, tuple[int, int]]
    """URL path -> (mtime_ns, size) for every gemtext file in a listed directory."""
    meta_files: dict[str, tuple[int, int]]
    """URL path -> (mtime_ns, size) for every `.meta` file in every directory: those of
    directories not listed again are looked at anyway, so that edits in place show at once."""
    listed: frozenset[str]
    """Directories (URL paths, "" for the root) whose files are all in `files`."""
    vanished: frozenset[str]
    """Directories seen by an earlier scan that no longer exist."""
    complete: bool
    """Whether every directory was listed, so that `files` holds every gemtext file."""
    links: dict[str, str]
    """URL path -> the URL path of the file it leads to, for the symlinks among `files`."""


class TreeScanner:
    """Walks a root, remembering directory mtimes so quick scans skip unchanged directories.

    Adding, removing or renaming a file changes its directory's mtime, so a quick scan sees
    it; an in-place edit does not: callers that watch the disk name the directories touched,
    and the others run a full scan now and then.
    Only what the capsule serves is listed, and the `.meta` files that say how; less names that
    are not printable (a title made from a name with a newline would break the lines of feeds
    and search results); symlinked directories are not followed.
    Unreadable entries are skipped; running out of descriptors or memory raises the OSError.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._directories: dict[str, tuple[int, tuple[str, ...], bool]] = {}
        """Directory -> its mtime_ns (-1 if it changed too recently to be trusted), its
        subdirectories, and whether it holds a `.meta` file."""

    def directories(self) -> frozenset[str]:
        """The directories the last scan walked, as URL paths ("" for the root)."""
        return frozenset(self._directories)

    def scan(self, full: bool, touched: frozenset[str] = frozenset()) -> Listing:
        """List every directory (full), or only those whose mtime changed or that are in
        `touched` (quick)."""
        files: dict[str, tuple[int, int]] = {}
        meta_files: dict[str, tuple[int, int]] = {}
        links: dict[str, str] = {}
        listed: set[str] = set()
        seen: dict[str, tuple[int, tuple[str, ...], bool]] = {}
        settled_before = time.time_ns() - _SETTLE_NS
        root = str(self.root)
        pending = [""]
        while pending:
            prefix = pending.pop()
            # Plain strings, not Path objects: at 100,000 pages this loop is the hot path.
            directory = root + prefix
            try:
                mtime = os.stat(directory).st_mtime_ns
            except OSError as error:
                if resources_exhausted(error):
                    raise
                continue
            cached = self._directories.get(prefix)
            if full or cached is None or cached[0] != mtime or prefix in touched:
                subdirectories, has_meta = self._list(
                    directory, prefix, files, meta_files, links
                )
                listed.add(prefix)
            else:
                _, subdirectories, has_meta = cached
                if has_meta:
                    # Few as they are, `.meta` files are looked at again: an edit in place
                    # leaves the directory's mtime alone.
                    has_meta = _add_meta(
                        f"{directory}/{META_NAME}", f"{prefix}/{META_NAME}", meta_files
                    )
            seen[prefix] = (mtime if mtime < settled_before else -1, subdirectories, has_meta)
            pending.extend(f"{prefix}/{name}" for name in subdirectories)
        vanished = frozenset(self._directories.keys() - seen.keys())
        self._directories = seen
        return Listing(
            files, meta_files, frozenset(listed), vanished, len(listed) == len(seen), links
        )

    def _list(
        self,
        directory: str,
        prefix: str,
        files: dict[str, tuple[int, int]],
        meta_files: dict[str, tuple[int, int]],
        links: dict[str, str],
    ) -> tuple[tuple[str, ...], bool]:
        """The subdirectories of `directory`, and whether it holds a `.meta` file; its gemtext
        and `.meta` files go into `files` and `meta_files`, and where its symlinked gemtext
        files lead into `links`."""
        subdirectories: list[str] = []
        has_meta = False
        try:
            entries = list(os.scandir(directory))
        except OSError as error:
            if resources_exhausted(error):
                raise
            return (), False
        for entry in entries:
            if entry.name == META_NAME:
                has_meta = _add_meta(entry.path, f"{prefix}/{META_NAME}", meta_files)
                continue
            if not served_name(entry.name) or not entry.name.isprintable():
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirectories.append(entry.name)
                elif is_gemtext(entry.name):
                    info = entry.stat()
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    url = f"{prefix}/{entry.name}"
                    if entry.is_symlink():
                        # Counted only if it leads inside the root, and judged where it leads.
                        real = served_inside(self.root, entry.path)
                        if real is None:
                            continue
                        links[url] = real_url(str(self.root), str(real), is_directory=False)
                    files[url] = (info.st_mtime_ns, info.st_size)
            except OSError as error:
                if resources_exhausted(error):
                    raise
                continue
        return tuple(subdirectories), has_meta


def _add_meta(path: str, url: str, meta_files: dict[str, tuple[int, int]]) -> bool:
    """Note the `.meta` file at `path`, symlinks followed; whether there is one. One that is not
    a regular file, or leads nowhere, is noted too (size -1): its directory is closed until it
    can be read, and lists must know it."""
    try:
        info = os.stat(path)
    except OSError as error:
        if resources_exhausted(error):
            raise
        try:
            info = os.lstat(path)
        except OSError:
            return False
    size = info.st_size if stat.S_ISREG(info.st_mode) else -1
    meta_files[url] = (info.st_mtime_ns, size)
    return True


def resources_exhausted(error: OSError) -> bool:
    """Whether `error` says the process ran out of descriptors or memory, which says nothing
    about the file: a scan then fails instead of taking the directory for empty."""
    return error.errno in _EXHAUSTED


def parent_of(path: str) -> str:
    """The directory part of a URL path, "" for files in the root."""
    return path.rsplit("/", 1)[0]
