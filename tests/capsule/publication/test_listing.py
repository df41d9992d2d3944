"""Directory listings: opt-in with `listing`, for directories that have no index page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capsule.publication.listing import directory_listing
from capsule.resources import NotFound, Page
from capsule.root import Capsule
from gemtext import Heading, Link, parse


def nothing_protected(path: str) -> bool:
    return False


def links(gemtext: str) -> list[Link]:
    return [line for line in parse(gemtext) if isinstance(line, Link)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "files" / "zeta").mkdir(parents=True)
    (root / "files" / "Alpha").mkdir()
    (root / "files" / ".git").mkdir()
    (root / "files" / "b.txt").write_text("b")
    (root / "files" / "A.gmi").write_text("# A\n")
    (root / "files" / ".secret").write_text("no")
    (root / "index.gmi").write_text("# Home\n")
    return root


def test_listing_lists_directories_first_then_files_sorted(root: Path) -> None:
    (root / ".meta").write_text("files/ listing\n")
    resource = Capsule(root, lang="en").resolve("/files/")
    assert resource == Page(
        "# Index of /files/\n"
        "\n"
        "=> ../ Parent directory\n"
        "=> Alpha/ Alpha/\n"
        "=> zeta/ zeta/\n"
        "=> A.gmi A.gmi\n"
        "=> b.txt b.txt\n",
        "en",
    )


def test_directory_without_index_is_not_found_without_listing(root: Path) -> None:
    assert isinstance(Capsule(root).resolve("/files/"), NotFound)


def test_nearer_listing_no_turns_listing_off(root: Path) -> None:
    (root / ".meta").write_text("* listing\n")
    (root / "files" / ".meta").write_text("/ listing=no\n")
    capsule = Capsule(root)
    assert isinstance(capsule.resolve("/files/"), NotFound)
    assert isinstance(capsule.resolve("/files/zeta/"), Page)


def test_index_page_wins_over_listing(root: Path) -> None:
    (root / ".meta").write_text("/ listing\n")
    assert Capsule(root).resolve("/") == Page("# Home\n")


def test_listing_takes_the_directory_lang(root: Path) -> None:
    (root / "files" / ".meta").write_text("/ listing lang=fr\n")
    resource = Capsule(root, lang="en").resolve("/files/")
    assert isinstance(resource, Page) and resource.lang == "fr"


def test_root_listing_has_no_parent_link(root: Path) -> None:
    (root / "index.gmi").unlink()
    text = directory_listing(root, "/", root, nothing_protected)
    assert [link.url for link in links(text)] == ["files/"]


def test_empty_directory_says_so(root: Path) -> None:
    text = directory_listing(root / "files" / "zeta", "/files/zeta/", root, nothing_protected)
    assert "This directory is empty." in text


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("with space.txt", "with%20space.txt"),
        ("#hash.txt", "%23hash.txt"),
        ("what?.txt", "what%3F.txt"),
        ("=> trick", "%3D%3E%20trick"),
        ("100%.txt", "100%25.txt"),
        ("gemini:evil", "gemini%3Aevil"),
        ("café.gmi", "caf%C3%A9.gmi"),
        ("* item", "%2A%20item"),
    ],
)
def test_odd_names_are_escaped_in_link_lines(root: Path, name: str, url: str) -> None:
    directory = root / "odd"
    directory.mkdir()
    (directory / name).write_text("x")
    text = directory_listing(directory, "/odd/", root, nothing_protected)
    assert links(text)[1:] == [Link(url, name)]


def test_newline_in_a_name_cannot_start_a_line(root: Path) -> None:
    directory = root / "odd"
    directory.mkdir()
    (directory / "x\n=> gemini:evil y").write_text("x")
    document = parse(directory_listing(directory, "/odd/", root, nothing_protected))
    assert [line.url for line in document if isinstance(line, Link)] == [
        "../",
        "x%0A%3D%3E%20gemini%3Aevil%20y",
    ]
    assert len([line for line in document if isinstance(line, Heading)]) == 1


def test_symlinks_that_leave_the_root_are_hidden(root: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    directory = root / "files"
    (directory / "escape.txt").symlink_to(tmp_path / "outside.txt")
    (directory / "escape-dir").symlink_to(tmp_path)
    (directory / "dangling").symlink_to(tmp_path / "missing")
    (directory / "inside.gmi").symlink_to(root / "index.gmi")
    (directory / "inside-dir").symlink_to(root / "files" / "zeta")
    listing = directory_listing(directory, "/files/", root, nothing_protected)
    urls = [link.url for link in links(listing)]
    assert urls == ["../", "Alpha/", "inside-dir/", "zeta/", "A.gmi", "b.txt", "inside.gmi"]


@pytest.mark.skipif(os.name != "posix", reason="needs a FIFO")
def test_special_files_are_hidden(root: Path) -> None:
    os.mkfifo(root / "files" / "pipe")
    listing = directory_listing(root / "files", "/files/", root, nothing_protected)
    urls = [link.url for link in links(listing)]
    assert "pipe" not in urls
