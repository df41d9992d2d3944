"""A capsule root directory on disk, turning request paths into resources."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from capsule.mime import is_gemtext, mime_type
from capsule.publication import Publication
from capsule.resources import File, NotFound, Page, Redirect, Resource

INDEX_NAME = "index.gmi"
_ALLOWED_DOT_SEGMENTS = frozenset({".well-known"})


class Capsule:
    """Resolves absolute, already-normalised URL paths to resources under one root."""

    def __init__(
        self, root: Path, lang: str | None = None, publication: Publication | None = None
    ) -> None:
        self.root = root.resolve(strict=True)
        self.lang = lang
        self.publication = publication

    def resolve(self, path: str, query: str | None = None) -> Resource:
        """Return the resource at `path` (decoded, starting with '/'); files on disk come first."""
        resource = self._from_disk(path)
        if self.publication is None:
            return resource
        if isinstance(resource, NotFound):
            return self.publication.resolve(path, query) or resource
        if isinstance(resource, Page):
            return Page(self.publication.expand(path, resource.gemtext), resource.lang)
        return resource

    def _from_disk(self, path: str) -> Resource:
        segments = _segments(path)
        if segments is None:
            return NotFound()
        candidate = self.root.joinpath(*segments)
        real = self._inside_root(candidate)
        if real is None:
            return NotFound()
        try:
            info = real.stat()
        except OSError:
            return NotFound()
        if stat.S_ISDIR(info.st_mode):
            if not path.endswith("/"):
                return Redirect(path + "/", permanent=True)
            return self._directory_index(real)
        if not stat.S_ISREG(info.st_mode):
            return NotFound()
        if path.endswith("/"):
            return NotFound()
        return self._file(real, info)

    def _inside_root(self, candidate: Path) -> Path | None:
        """Follow symlinks and return the real path only if it stays under the root."""
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if real != self.root and not real.is_relative_to(self.root):
            return None
        return real

    def _directory_index(self, directory: Path) -> Resource:
        index = self._inside_root(directory / INDEX_NAME)
        if index is None:
            return NotFound()
        try:
            info = index.stat()
        except OSError:
            return NotFound()
        if not stat.S_ISREG(info.st_mode):
            return NotFound()
        return self._file(index, info)

    def _file(self, real: Path, info: os.stat_result) -> Resource:
        if is_gemtext(real.name):
            try:
                text = real.read_bytes().decode("utf-8", errors="replace")
            except OSError:
                return NotFound()
            return Page(text, self.lang)
        return File(real, mime_type(real.name), info.st_size, info.st_mtime)


def _segments(path: str) -> list[str] | None:
    """Split an absolute path into segments, refusing anything that could leave the root."""
    if not path.startswith("/") or "\x00" in path or "\\" in path:
        return None
    segments = [segment for segment in path.split("/") if segment]
    for segment in segments:
        if segment in (".", ".."):
            return None
        if segment.startswith(".") and segment not in _ALLOWED_DOT_SEGMENTS:
            return None
    return segments
