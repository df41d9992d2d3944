"""What a capsule serves from its root, decided once and walked once for every walker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capsule.catalog.scan import TreeScanner
from capsule.check import check_capsule
from capsule.publication.listing import directory_listing
from capsule.resources import NotFound
from capsule.root import Capsule
from capsule.tree import (
    BrokenLink,
    LeavesRoot,
    Served,
    Unlisted,
    list_served,
    served_name,
    served_names,
    stays_inside,
    walk_served,
)
from gemtext import Link, parse

UNDECODABLE = os.fsdecode(b"caf\xe9.gmi")


@pytest.mark.parametrize(
    "name", ["index.gmi", "a b.txt", "café.gmi", "東京.gmi", "what?x", "x\ny", ".well-known"]
)
def test_ordinary_names_are_served(name: str) -> None:
    assert served_name(name)


@pytest.mark.parametrize(
    "name",
    [".hidden.gmi", ".git", ".meta", ".", "..", ".well-known2", "a\\b", "a\x00b", UNDECODABLE],
)
def test_dotfiles_backslashes_nul_and_undecodable_names_are_not_served(name: str) -> None:
    assert not served_name(name)


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/", []),
        ("/a/b.gmi", ["a", "b.gmi"]),
        ("/.well-known/security.txt", [".well-known", "security.txt"]),
        ("/.git/config", None),
        ("/a/.hidden.gmi", None),
        ("/a\\b", None),
        ("/a/../b", None),
        ("relative", None),
    ],
)
def test_served_names_along_a_url_path(path: str, names: list[str] | None) -> None:
    assert served_names(path) == names


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for name, content in {
        "index.gmi": "# Home\n",
        "b.txt": "b",
        "a/page.gmi": "# A\n",
        "a/deep/leaf.gmi": "# Leaf\n",
        ".well-known/security.txt": "Contact: x",
        ".well-known/about.gmi": "# Known\n",
        ".drafts/draft.gmi": "# Draft\n",
        ".hidden.gmi": "# Hidden\n",
        "back\\slash.gmi": "# Backslash\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    (root / UNDECODABLE).write_text("# Latin-1 name\n")
    (tmp_path / "outside.gmi").write_text("# Outside\n")
    (root / "escape.gmi").symlink_to(tmp_path / "outside.gmi")
    (root / "dangling.gmi").symlink_to(root / "nothing.gmi")
    (root / "alias.gmi").symlink_to(root / "a" / "page.gmi")
    (root / "linked").symlink_to(root / "a")
    os.mkfifo(root / "pipe")
    return root.resolve()


def served(root: Path) -> list[str]:
    return [found.url for found in walk_served(root) if isinstance(found, Served)]


def test_walk_finds_what_is_served_each_directory_sorted_then_entered(root: Path) -> None:
    assert served(root) == [
        "/.well-known/",
        "/.well-known/about.gmi",
        "/.well-known/security.txt",
        "/a/",
        "/a/deep/",
        "/a/deep/leaf.gmi",
        "/a/page.gmi",
        "/alias.gmi",
        "/b.txt",
        "/index.gmi",
        "/linked/",
    ]


def test_walk_marks_symlinks_and_does_not_enter_linked_directories(root: Path) -> None:
    found = [item for item in walk_served(root) if isinstance(item, Served)]
    assert {item.url for item in found if item.is_link} == {"/alias.gmi", "/linked/"}


def test_walk_reports_symlinks_that_leave_the_root_or_lead_nowhere(root: Path) -> None:
    refused = [found for found in walk_served(root) if not isinstance(found, Served)]
    assert [(type(found), found.url) for found in refused] == [
        (BrokenLink, "/dangling.gmi"),
        (LeavesRoot, "/escape.gmi"),
    ]
    leaving = refused[1]
    assert isinstance(leaving, LeavesRoot)
    assert leaving.target == str(root.parent / "outside.gmi")


def test_walk_reports_a_directory_it_cannot_list(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scandir = os.scandir

    def refusing(path: str) -> object:
        if path == str(root / "a"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    found = list(walk_served(root))
    (unlisted,) = [item for item in found if isinstance(item, Unlisted)]
    assert unlisted.url == "/a/" and isinstance(unlisted.error, PermissionError)
    assert "/a/page.gmi" not in [item.url for item in found if isinstance(item, Served)]


def test_list_served_raises_for_a_directory_that_cannot_be_listed(root: Path) -> None:
    with pytest.raises(OSError):
        list_served(str(root / "missing"), "/missing/", root)


def test_stays_inside_follows_symlinks(root: Path) -> None:
    assert stays_inside(root, root) == root
    assert stays_inside(root, root / "alias.gmi") == root / "a" / "page.gmi"
    assert stays_inside(root, root / "linked" / "page.gmi") == root / "a" / "page.gmi"
    assert stays_inside(root, root / "escape.gmi") is None
    assert stays_inside(root, root / "dangling.gmi") is None
    assert stays_inside(root, root / "missing.gmi") is None


def test_site_serves_exactly_the_files_the_walk_finds(root: Path) -> None:
    site = Capsule(root)
    walked = set(served(root))
    for name in os.listdir(root):
        url = "/" + name + ("/" if (root / name).is_dir() else "")
        answered = not isinstance(site.resolve(url), NotFound)
        if "/" + name + "/" in walked and not (root / name / "index.gmi").exists():
            # A directory without an index page is served only as a listing.
            continue
        assert answered == (url in walked), url


def test_scan_lists_the_gemtext_files_the_walk_finds_outside_linked_directories(
    root: Path,
) -> None:
    listing = TreeScanner(root).scan(full=True)
    walked = {
        found.url
        for found in walk_served(root)
        if isinstance(found, Served) and found.url.endswith(".gmi")
    }
    assert set(listing.files) == walked
    assert "/.well-known/about.gmi" in listing.files


def test_listing_shows_what_the_walk_finds_in_a_directory(root: Path) -> None:
    document = parse(directory_listing(root, "/", root, lambda path: False))
    urls = [line.url for line in document if isinstance(line, Link)]
    assert urls == [".well-known/", "a/", "linked/", "alias.gmi", "b.txt", "index.gmi"]


def test_check_reads_the_pages_the_walk_finds(root: Path) -> None:
    report = check_capsule(root)
    pages = [url for url in served(root) if url.endswith(".gmi")]
    assert report.files_checked == len(pages)
