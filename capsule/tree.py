"""What a capsule serves from its root: which names, which symlinks, and the walk over them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from capsule.paths import split_path

WELL_KNOWN = ".well-known"
"""The one dot-name served (RFC 8615), so that `/.well-known/security.txt` can be published."""
INDEX_NAME = "index.gmi"
"""The page that serves its directory."""

_BY_NAME = attrgetter("name")


def served_name(name: str) -> bool:
    """Whether a file or directory called `name` may be served: not a dotfile (`.well-known`
    excepted), no backslash or NUL, and valid UTF-8, since a name that is not has no URL."""
    if name.startswith(".") and name != WELL_KNOWN:
        return False
    if "\\" in name or "\x00" in name:
        return False
    return name.isascii() or _is_utf8(name)


def served_names(path: str) -> list[str] | None:
    """The names along a decoded URL path if every one may be served, else None."""
    names = split_path(path)
    if names is None or not all(map(served_name, names)):
        return None
    return names


def stays_inside(root: Path, path: str | os.PathLike[str]) -> Path | None:
    """The real path of `path`, symlinks followed, if it exists and is `root` (a resolved path)
    or under it; None if it leads out of the root or nowhere."""
    try:
        real = os.path.realpath(path, strict=True)
    except (OSError, ValueError):
        return None
    return Path(real) if _under(root, real) else None


def served_inside(root: Path, path: str | os.PathLike[str]) -> Path | None:
    """The real path of `path`, symlinks followed, if the capsule serves what is there: it
    stays inside the root and every name on the way from the root is a served name (a link
    never leads into `.meta`, `.versions` or another dotfile); None otherwise."""
    real = stays_inside(root, path)
    if real is None or not all(map(served_name, real.relative_to(root).parts)):
        return None
    return real


def found_inside(root: str, names: Sequence[str]) -> tuple[str, os.stat_result] | None:
    """The real path and stat of `names` under `root` (a resolved path), if it exists and is
    served there (see `served_inside`); None otherwise.

    One lstat per name while no symlink is on the way (the common case, and the stat the
    caller needs anyway); a path through a symlink is resolved whole, by `served_inside`.
    """
    path = root
    try:
        info = os.stat(root) if not names else None
        for name in names:
            path = f"{path}/{name}" if path != "/" else f"/{name}"
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                real = served_inside(Path(root), os.path.join(root, *names))
                return None if real is None else (str(real), real.stat())
    except (OSError, ValueError):
        return None
    assert info is not None
    return path, info


def real_url(root: str, real: str, is_directory: bool) -> str:
    """The URL path of `real`, a real path under `root` (both resolved); a directory's ends
    in "/". What the rules of a path reached through symlinks are judged on too."""
    relative = real[len(root) :] if root != "/" else real
    path = relative or "/"
    return path + "/" if is_directory and not path.endswith("/") else path


def relinked(root: str, names: Sequence[str], real: str, is_directory: bool) -> str | None:
    """The URL path of `real`, which `names` under `root` lead to, if symlinks make it another
    than the path of `names`; None if it is that path."""
    asked = root + "".join("/" + name for name in names) if root != "/" else "/" + "/".join(names)
    return None if real == asked else real_url(root, real, is_directory)


@dataclass(frozen=True, slots=True)
class Served:
    """A file or directory the capsule serves, at `url` ("/a/b.gmi"; a directory's ends in "/")."""

    name: str
    url: str
    path: str
    """Where it is on disk, through the symlink if it is one."""
    is_directory: bool
    is_link: bool
    """Reached through a symlink; a linked directory is not walked, its target being walked."""


@dataclass(frozen=True, slots=True)
class LeavesRoot:
    """A symlink to `target`, outside the root: never served."""

    url: str
    target: str


@dataclass(frozen=True, slots=True)
class LeadsToHidden:
    """A symlink to `target`, a dotfile or something under one (`.meta`, `.versions`...):
    never served, as its target is not."""

    url: str
    target: str


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """A symlink inside the root that leads nowhere."""

    url: str
    error: OSError


@dataclass(frozen=True, slots=True)
class Unlisted:
    """A directory (`url` ends in "/") that cannot be listed."""

    url: str
    error: OSError


Found = Served | LeavesRoot | LeadsToHidden | BrokenLink
"""What a directory holds, as far as serving goes; dotfiles, special files and the like are not
found at all."""


def list_served(directory: str, url: str, root: Path) -> list[Found]:
    """What the capsule serves in `directory` (served at `url`), sorted by name, with the
    symlinks it refuses. Raises OSError if the directory cannot be listed."""
    with os.scandir(directory) as entries:
        named = sorted((entry for entry in entries if served_name(entry.name)), key=_BY_NAME)
    found: list[Found] = []
    for entry in named:
        try:
            item = _classify(entry, url + entry.name, root)
        except OSError:
            continue
        if item is not None:
            found.append(item)
    return found


def walk_served(root: Path) -> Iterator[Found | Unlisted]:
    """Everything the capsule serves under `root` (resolved), with the symlinks it refuses and
    the directories it cannot list: depth first, in name order, each directory followed by its
    contents. Linked directories are found but not entered."""
    pending: list[Iterator[Found | Unlisted]] = [iter(_listed(str(root), "/", root))]
    while pending:
        for item in pending[-1]:
            yield item
            if isinstance(item, Served) and item.is_directory and not item.is_link:
                pending.append(iter(_listed(item.path, item.url, root)))
                break
        else:
            pending.pop()


def _listed(directory: str, url: str, root: Path) -> Sequence[Found | Unlisted]:
    try:
        return list_served(directory, url, root)
    except OSError as error:
        return [Unlisted(url, error)]


def _classify(entry: os.DirEntry[str], url: str, root: Path) -> Found | None:
    """What one entry with a served name is; None for special files (pipes, sockets...)."""
    is_link = entry.is_symlink()
    if is_link:
        # Not strict: a link out of the root is reported as one even when its target is missing.
        target = os.path.realpath(entry.path)
        if not _under(root, target):
            return LeavesRoot(url, target)
        try:
            mode = os.stat(entry.path).st_mode
        except OSError as error:
            return BrokenLink(url, error)
        if served_inside(root, target) is None:
            return LeadsToHidden(url, target)
        is_directory, is_file = stat.S_ISDIR(mode), stat.S_ISREG(mode)
    else:
        is_directory = entry.is_dir(follow_symlinks=False)
        is_file = not is_directory and entry.is_file(follow_symlinks=False)
    if not is_directory and not is_file:
        return None
    url += "/" if is_directory else ""
    return Served(entry.name, url, entry.path, is_directory, is_link)


def _under(root: Path, real: str) -> bool:
    return Path(real).is_relative_to(root)


def _is_utf8(name: str) -> bool:
    # Undecodable bytes in a name come back from the file system as surrogate escapes.
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

