"""Earlier versions of uploaded files, kept in the root's `.versions` directory.

Every file replaced or deleted by an upload is kept as `.versions/<its path>/<UTC time>`
(`…-deleted` for a deletion), the time being when it stopped being served, e.g.
`.versions/notes/a.gmi/20260105T101500.123456Z`. The directory is a dotfile, so it is never
served, listed, indexed or exported; being inside the root, it goes wherever the root goes
(backups, replicas sharing the root) and lies on the same file system, so keeping a version
is a hard link made before the served name is replaced or removed: no copy, and no moment
when the content exists nowhere.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

VERSIONS_NAME = ".versions"
DELETED_SUFFIX = "-deleted"
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_STAMP_LENGTH = len("20260105T101500.123456Z")


class Versions:
    """The `.versions` directory of one root (a resolved path)."""

    def __init__(self, root: Path) -> None:
        self.directory = root / VERSIONS_NAME

    def keep(self, relative: str, file: Path, *, deleted: bool = False) -> Path:
        """Keep `file` (the file at `relative`, a path from the root) as its latest version:
        linked for a replacement, moved for a deletion. Returns where it is kept."""
        folder = self.directory / relative
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime(_STAMP) + (DELETED_SUFFIX if deleted else "")
        for attempt in range(1, 100):
            kept = folder / (stamp if attempt == 1 else f"{stamp}.{attempt}")
            try:
                _place(file, kept, move=deleted)
            except FileExistsError:
                continue
            sync_directory(folder)
            return kept
        raise FileExistsError(errno.EEXIST, "no free version name", str(folder / stamp))

    def of(self, relative: str) -> list[Path]:
        """The kept versions of the file at `relative`, oldest first."""
        folder = self.directory / relative
        if not folder.is_dir():
            return []
        return sorted(path for path in folder.iterdir() if path.is_file())

    def prune(self, relative: str, keep: int, days: int, now: datetime) -> list[Path]:
        """Remove the versions of the file at `relative` beyond the newest `keep`, and those
        that stopped being served more than `days` days before `now` (0: no such limit).
        Folders left empty go too. Returns what was removed, oldest first."""
        versions = self.of(relative)
        doomed = set(versions[: len(versions) - keep] if keep else ())
        if days:
            cutoff = now - timedelta(days=days)
            doomed.update(path for path in versions if (_stopped(path) or now) < cutoff)
        removed = [path for path in versions if path in doomed]
        for path in removed:
            path.unlink(missing_ok=True)
        if removed:
            folder = self.directory / relative
            sync_directory(folder)
            while folder != self.directory:
                try:
                    folder.rmdir()
                except OSError:  # not empty, or already gone
                    break
                folder = folder.parent
        return removed


def _stopped(version: Path) -> datetime | None:
    """When a kept version stopped being served, from its name; None for a foreign name."""
    with contextlib.suppress(ValueError):
        return datetime.strptime(version.name[:_STAMP_LENGTH], _STAMP).replace(tzinfo=UTC)
    return None


def _place(file: Path, kept: Path, *, move: bool) -> None:
    """Link (or move) `file` to `kept`, which must not exist; across file systems, a copy."""
    try:
        os.link(file, kept, follow_symlinks=False)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        with open(file, "rb") as source, open(kept, "xb") as copy:
            shutil.copyfileobj(source, copy)
            copy.flush()
            os.fsync(copy.fileno())
        shutil.copystat(file, kept)
    if move:
        os.unlink(file)


def sync_directory(directory: Path) -> None:
    """fsync a directory, so the names just made or removed in it survive a crash."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
