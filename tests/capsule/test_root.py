"""Resolving paths in a capsule root: pages, files, directories, and the root's boundary."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.resources import File, NotFound, Page, Redirect, Unavailable
from capsule.root import Capsule


@pytest.fixture
def capsule(tmp_path: Path) -> Capsule:
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "index.gmi").write_text("# Home\n")
    (root / "dir" / "index.gmi").write_text("# Dir\n")
    (root / "dir" / "page.gmi").write_text("# Page\n")
    (root / "notes.txt").write_text("plain")
    (root / "blob.unknownext").write_bytes(b"\x00\x01")
    (root / ".hidden.gmi").write_text("# secret\n")
    (tmp_path / "outside.gmi").write_text("# outside\n")
    (root / "escape.gmi").symlink_to(tmp_path / "outside.gmi")
    (root / "escape-dir").symlink_to(tmp_path)
    (root / "alias.gmi").symlink_to(root / "dir" / "page.gmi")
    return Capsule(root, lang="en")


def test_root_serves_its_index(capsule: Capsule) -> None:
    assert capsule.resolve("/") == Page("# Home\n", "en")


def test_directory_with_slash_serves_its_index(capsule: Capsule) -> None:
    assert capsule.resolve("/dir/") == Page("# Dir\n", "en")


def test_directory_without_slash_redirects_permanently(capsule: Capsule) -> None:
    assert capsule.resolve("/dir") == Redirect("/dir/", permanent=True)


def test_directory_without_index_is_not_found(capsule: Capsule) -> None:
    assert isinstance(capsule.resolve("/empty/"), NotFound)


def test_gemtext_file_is_a_page(capsule: Capsule) -> None:
    assert capsule.resolve("/dir/page.gmi") == Page("# Page\n", "en")


def test_text_file_has_its_mime_type(capsule: Capsule) -> None:
    resource = capsule.resolve("/notes.txt")
    assert isinstance(resource, File)
    assert resource.mime == "text/plain; charset=utf-8"
    assert resource.size == 5


def test_unknown_extension_is_octet_stream(capsule: Capsule) -> None:
    resource = capsule.resolve("/blob.unknownext")
    assert isinstance(resource, File) and resource.mime == "application/octet-stream"


def test_missing_file_is_not_found(capsule: Capsule) -> None:
    assert isinstance(capsule.resolve("/nope.gmi"), NotFound)


def test_file_with_trailing_slash_is_not_found(capsule: Capsule) -> None:
    assert isinstance(capsule.resolve("/dir/page.gmi/"), NotFound)


def test_dotfiles_are_not_served(capsule: Capsule) -> None:
    assert isinstance(capsule.resolve("/.hidden.gmi"), NotFound)


@pytest.mark.parametrize("path", ["/../outside.gmi", "/dir/../../outside.gmi", "/..", "x", ""])
def test_paths_that_leave_the_root_are_not_found(capsule: Capsule, path: str) -> None:
    assert isinstance(capsule.resolve(path), NotFound)


def test_symlink_pointing_outside_the_root_is_not_found(capsule: Capsule) -> None:
    assert isinstance(capsule.resolve("/escape.gmi"), NotFound)
    assert isinstance(capsule.resolve("/escape-dir/outside.gmi"), NotFound)


def test_symlink_inside_the_root_is_followed(capsule: Capsule) -> None:
    assert capsule.resolve("/alias.gmi") == Page("# Page\n", "en")


def test_invalid_utf8_in_gemtext_is_replaced_not_fatal(capsule: Capsule) -> None:
    (capsule.root / "latin1.gmi").write_bytes("# caf\xe9\n".encode("latin-1"))
    assert capsule.resolve("/latin1.gmi") == Page("# caf\ufffd\n", "en")


def test_directory_redirect_keeps_odd_names_in_the_path(capsule: Capsule) -> None:
    (capsule.root / "what?x").mkdir()
    assert capsule.resolve("/what?x") == Redirect("/what%3Fx/", permanent=True)


def test_directory_redirect_is_never_scheme_relative(capsule: Capsule) -> None:
    assert capsule.resolve("//dir") == Redirect("/dir/", permanent=True)


def test_page_above_the_size_limit_is_a_file_not_a_page(tmp_path: Path) -> None:
    (tmp_path / "big.gmi").write_text("# Big\n" + "x" * 100)
    (tmp_path / "small.gmi").write_text("# Small\n")
    capsule = Capsule(tmp_path, lang="fr", max_page_bytes=64)
    big = capsule.resolve("/big.gmi")
    assert isinstance(big, File)
    assert big.mime == "text/gemini; charset=utf-8; lang=fr"
    assert big.size == 106
    assert capsule.resolve("/small.gmi") == Page("# Small\n", "fr")


def test_page_that_cannot_be_read_is_unavailable_and_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "locked.gmi").write_text("# Locked\n")
    capsule = Capsule(tmp_path)
    real_read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path.name == "locked.gmi":
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(path)

    # The tests may run as root, whom file modes do not stop: refuse the read itself.
    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert capsule.resolve("/locked.gmi") == Unavailable()
    assert [record.getMessage() for record in caplog.records] == [
        f"cannot read {tmp_path.resolve() / 'locked.gmi'}: Permission denied"
    ]


def test_page_that_vanished_after_stat_is_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "brief.gmi").write_text("# Brief\n")
    capsule = Capsule(tmp_path)

    def vanish(path: Path) -> bytes:
        path.unlink()
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(Path, "read_bytes", vanish)
    assert capsule.resolve("/brief.gmi") == NotFound()


@pytest.mark.parametrize(
    ("query", "target"),
    [(None, "/dir/"), ("x=1", "/dir/?x=1"), ("", "/dir/?"), ("a b#c", "/dir/?a%20b%23c")],
)
def test_directory_redirect_keeps_the_query(
    capsule: Capsule, query: str | None, target: str
) -> None:
    assert capsule.resolve("/dir", query) == Redirect(target, permanent=True)
