"""Writing and deleting files inside a capsule root, atomically, under the rules of serving.

Only what serving would serve can be written: names that `served_names` accepts, every
directory on the way (symlinks followed) inside the root, and no dot-name anywhere on the real
path. A new file is written to a temporary dotfile in its directory, fsynced, renamed over its
name and the directory fsynced: readers see the old file or the new one, never a part. The
file replaced or deleted is kept in `.versions` (see `capsule.authoring.versions`). Writes to
one root take a lock, across threads and processes, for the moment of the swap.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from capsule.authoring.versions import Versions, sync_directory
from capsule.tree import Served, served_inside, served_names, walk_served

TEMPORARY_PREFIX = ".upload-"
_LOCK_NAME = ".lock"
_NEW_FILE_MODE = 0o666  # less the umask, as any new file


@dataclass(frozen=True, slots=True)
class Unwritable:
    """Why a path cannot be written."""

    reason: str


@dataclass(frozen=True, slots=True)
class Target:
    """Where an upload lands: the real file under the root, and its path from the root."""

    file: Path
    relative: str
    created: tuple[Path, ...] = ()
    """Directories made to reach it, outermost first: removed again if the write fails."""

    @property
    def path(self) -> str:
        """The URL path of the file written, symlinks resolved: what upload grants must cover."""
        return "/" + self.relative


class RootWriter:
    """Writes and deletes files under one root (resolved on construction)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve(strict=True)
        self.versions = Versions(self.root)

    def target(self, path: str, *, make_directories: bool) -> Target | Unwritable:
        """Where the file at URL path `path` (decoded, normalised) is written. Missing
        directories are made if `make_directories`; else the target simply does not exist."""
        names = served_names(path)
        if not names or path.endswith("/"):
            return Unwritable("only names capsule serves can be written (no dotfiles)")
        directory, created = self.root, []
        for depth, name in enumerate(names[:-1]):
            candidate = directory / name
            if not os.path.lexists(candidate):
                if not make_directories:
                    # Nothing there to delete: a target that does not exist.
                    missing = candidate.joinpath(*names[depth + 1 :])
                    return Target(missing, missing.relative_to(self.root).as_posix())
                try:
                    candidate.mkdir()
                    created.append(candidate)
                except FileExistsError:
                    pass
            real = served_inside(self.root, candidate)
            if real is None or not real.is_dir():
                _remove_empty(created)
                return Unwritable(f"{name} is not a directory inside the root")
            directory = real
        file = directory / names[-1]
        if file.is_symlink():
            real = served_inside(self.root, file)
            if real is None:
                _remove_empty(created)
                return Unwritable(f"{names[-1]} is a link leading outside what is served")
            file = real
        if file.is_dir():
            return Unwritable(f"{names[-1]} is a directory")
        if os.path.lexists(file) and not stat.S_ISREG(file.stat().st_mode):
            return Unwritable(f"{names[-1]} is not a regular file")
        return Target(file, file.relative_to(self.root).as_posix(), tuple(created))

    def discard(self, target: Target) -> None:
        """Remove the directories made to reach `target`, if still empty: nothing is written."""
        _remove_empty(target.created)

    def leftovers(self, older_than: float) -> list[Path]:
        """Remove the temporary files of writes that never finished (a crash, a power loss)
        and were last written more than `older_than` seconds ago; those removed."""
        removed = []
        limit = time.time() - older_than
        directories = [str(self.root)] + [
            found.path for found in walk_served(self.root)
            if isinstance(found, Served) and found.is_directory and not found.is_link
        ]
        for directory in directories:
            with suppress(OSError), os.scandir(directory) as entries:
                for entry in entries:
                    if entry.name.startswith(TEMPORARY_PREFIX) and _older(entry, limit):
                        with suppress(FileNotFoundError):
                            os.unlink(entry.path)
                            removed.append(Path(entry.path))
        return removed

    def begin(self, target: Target) -> PendingWrite:
        """A temporary file beside the target, to be committed or aborted."""
        return PendingWrite(self, target)

    def delete(self, target: Target, within: Callable[[str], bool]) -> Path | None:
        """Delete the target, keeping it as its last version; None if it does not exist.

        The directories the deletion leaves empty are removed too, innermost first, as long
        as `within` allows it of the folder holding them ("" for the root, else "a/b/").
        """
        with self.locked():
            if not target.file.exists():
                return None
            kept = self.versions.keep(target.relative, target.file, deleted=True)
            sync_directory(target.file.parent)
            self._remove_emptied(target.file.parent, within)
            return kept

    def prune(self, relative: str, keep: int, days: int) -> list[Path]:
        """Drop the versions of the file at `relative` that `keep` and `days` no longer keep
        (see `Versions.prune`); what was removed."""
        if not keep and not days:
            return []
        with self.locked():
            return self.versions.prune(relative, keep, days, datetime.now(UTC))

    def _remove_emptied(self, directory: Path, within: Callable[[str], bool]) -> None:
        while directory != self.root:
            parent = directory.parent
            folder = parent.relative_to(self.root).as_posix()
            if not within("" if folder == "." else folder + "/"):
                return
            try:
                directory.rmdir()
            except OSError:  # not empty, or already gone
                return
            sync_directory(parent)
            directory = parent

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the root's write lock (threads and processes alike: one open file each)."""
        self.versions.directory.mkdir(exist_ok=True)
        descriptor = os.open(self.versions.directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)


class PendingWrite:
    """The body of an upload on its way to disk, in a temporary file beside its target."""

    def __init__(self, writer: RootWriter, target: Target) -> None:
        self.writer = writer
        self.target = target
        self.temporary = target.file.parent / f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        self._descriptor: int | None = os.open(self.temporary, flags, _NEW_FILE_MODE)
        self.written = 0

    def write(self, data: bytes) -> None:
        """Append `data` to the temporary file."""
        assert self._descriptor is not None, "written after commit or abort"
        view = memoryview(data)
        while view:
            view = view[os.write(self._descriptor, view) :]
        self.written += len(data)

    def commit(self) -> Path | None:
        """Make the temporary file the target: synced, the old file kept as a version, renamed,
        the directory synced. Returns where the old file is kept (None: there was none)."""
        descriptor = self._take_descriptor()
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        target = self.target
        with self.writer.locked():
            kept = None
            if target.file.exists():
                os.chmod(self.temporary, stat.S_IMODE(target.file.stat().st_mode))
                kept = self.writer.versions.keep(target.relative, target.file)
            os.replace(self.temporary, target.file)
            sync_directory(target.file.parent)
        return kept

    def abort(self) -> None:
        """Remove the temporary file, and the directories made for it if they are empty."""
        if self._descriptor is not None:
            os.close(self._take_descriptor())
        with suppress(FileNotFoundError):
            os.unlink(self.temporary)
        _remove_empty(self.target.created)

    def _take_descriptor(self) -> int:
        descriptor, self._descriptor = self._descriptor, None
        assert descriptor is not None, "committed or aborted twice"
        return descriptor


def _remove_empty(directories: list[Path] | tuple[Path, ...]) -> None:
    """Remove directories made for a write that did not happen, innermost first, if empty."""
    for directory in reversed(directories):
        try:
            directory.rmdir()
        except OSError:
            return


def _older(entry: os.DirEntry[str], limit: float) -> bool:
    """Whether a regular file was last modified before the time `limit`."""
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_mtime < limit
