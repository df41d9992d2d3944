"""Writing and deleting under a root: atomic, inside the root, the previous version kept."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from capsule.authoring.versions import DELETED_SUFFIX, VERSIONS_NAME, Versions
from capsule.authoring.writes import PendingWrite, RootWriter, Target, Unwritable


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "old.gmi").write_text("# Old\n")
    return root


def target(writer: RootWriter, path: str, make_directories: bool = True) -> Target:
    found = writer.target(path, make_directories=make_directories)
    assert isinstance(found, Target), found
    return found


def write(writer: RootWriter, path: str, data: bytes) -> Path | None:
    pending = writer.begin(target(writer, path))
    pending.write(data)
    return pending.commit()


def anywhere(folder: str) -> bool:
    """Every folder is the deletion's to empty."""
    return True


def leftovers(root: Path) -> list[Path]:
    return sorted(root.rglob(".upload-*"))


def test_a_new_file_is_written_with_its_directories(root: Path) -> None:
    writer = RootWriter(root)
    assert write(writer, "/2026/01/05/news.gmi", b"# News\n") is None
    assert (root / "2026/01/05/news.gmi").read_bytes() == b"# News\n"
    assert leftovers(root) == []


def test_replacing_keeps_the_previous_version_and_the_mode(root: Path) -> None:
    (root / "notes" / "old.gmi").chmod(0o640)
    writer = RootWriter(root)
    kept = write(writer, "/notes/old.gmi", b"# New\n")
    assert (root / "notes" / "old.gmi").read_bytes() == b"# New\n"
    assert kept is not None and kept.read_bytes() == b"# Old\n"
    assert kept.parent == root / VERSIONS_NAME / "notes" / "old.gmi"
    assert (root / "notes" / "old.gmi").stat().st_mode & 0o777 == 0o640
    write(writer, "/notes/old.gmi", b"# Newer\n")
    versions = Versions(root).of("notes/old.gmi")
    assert [version.read_bytes() for version in versions] == [b"# Old\n", b"# New\n"]


def test_until_commit_readers_see_the_old_file_and_no_new_name(root: Path) -> None:
    writer = RootWriter(root)
    pending = writer.begin(target(writer, "/notes/old.gmi"))
    pending.write(b"# Half")
    assert (root / "notes" / "old.gmi").read_bytes() == b"# Old\n"
    served = {path.name for path in (root / "notes").iterdir() if not path.name.startswith(".")}
    assert served == {"old.gmi"}
    pending.abort()
    assert leftovers(root) == []


def test_abort_removes_the_temporary_file_and_the_directories_made_for_it(root: Path) -> None:
    writer = RootWriter(root)
    pending = writer.begin(target(writer, "/fresh/deep/page.gmi"))
    pending.write(b"partial")
    pending.abort()
    assert not (root / "fresh").exists()
    assert leftovers(root) == []


def test_deleting_keeps_the_last_version(root: Path) -> None:
    writer = RootWriter(root)
    kept = writer.delete(target(writer, "/notes/old.gmi", make_directories=False), anywhere)
    assert not (root / "notes" / "old.gmi").exists()
    assert kept is not None and kept.name.endswith(DELETED_SUFFIX)
    assert kept.read_bytes() == b"# Old\n"


def test_deleting_what_is_not_there_is_none_and_makes_nothing(root: Path) -> None:
    writer = RootWriter(root)
    for path in ("/gone/page.gmi", "/notes/none.gmi"):
        assert writer.delete(target(writer, path, make_directories=False), anywhere) is None
    assert not (root / "gone").exists()


@pytest.mark.parametrize(
    "path",
    ["/.meta", "/notes/.hidden.gmi", "/.versions/notes/old.gmi/x", "/a\\b.gmi", "/notes/", "/"],
)
def test_names_serving_refuses_cannot_be_written(root: Path, path: str) -> None:
    assert isinstance(RootWriter(root).target(path, make_directories=True), Unwritable)
    assert not (root / ".versions").exists()


def test_well_known_can_be_written_as_it_is_served(root: Path) -> None:
    assert write(RootWriter(root), "/.well-known/security.txt", b"Contact: x\n") is None


def test_a_directory_cannot_be_replaced_by_a_file(root: Path) -> None:
    found = RootWriter(root).target("/notes", make_directories=True)
    assert isinstance(found, Unwritable) and "directory" in found.reason


def test_a_file_on_the_way_is_not_a_directory(root: Path) -> None:
    found = RootWriter(root).target("/notes/old.gmi/inner.gmi", make_directories=True)
    assert isinstance(found, Unwritable)


def test_a_linked_directory_leaving_the_root_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "away").symlink_to(outside)
    found = RootWriter(root).target("/away/page.gmi", make_directories=True)
    assert isinstance(found, Unwritable)
    found = RootWriter(root).target("/away/deeper/page.gmi", make_directories=True)
    assert isinstance(found, Unwritable)
    assert list(outside.iterdir()) == []


def test_a_linked_file_leaving_the_root_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.gmi"
    outside.write_text("secret\n")
    (root / "notes" / "link.gmi").symlink_to(outside)
    assert isinstance(RootWriter(root).target("/notes/link.gmi", make_directories=True), Unwritable)
    assert outside.read_text() == "secret\n"


def test_a_link_into_a_dotfile_is_refused(root: Path) -> None:
    (root / ".meta").write_text("")
    (root / "meta.gmi").symlink_to(root / ".meta")
    (root / "history").symlink_to(root / VERSIONS_NAME, target_is_directory=True)
    (root / VERSIONS_NAME).mkdir()
    writer = RootWriter(root)
    assert isinstance(writer.target("/meta.gmi", make_directories=True), Unwritable)
    assert isinstance(writer.target("/history/x.gmi", make_directories=True), Unwritable)


def test_a_link_inside_the_root_is_written_through_to_its_target(root: Path) -> None:
    (root / "latest.gmi").symlink_to(root / "notes" / "old.gmi")
    writer = RootWriter(root)
    kept = write(writer, "/latest.gmi", b"# Through\n")
    assert (root / "latest.gmi").is_symlink()
    assert (root / "notes" / "old.gmi").read_bytes() == b"# Through\n"
    assert kept is not None and kept.parent == root / VERSIONS_NAME / "notes" / "old.gmi"


def test_concurrent_commits_each_keep_the_version_they_replaced(root: Path) -> None:
    writers = [RootWriter(root) for _ in range(8)]
    pendings: list[PendingWrite] = []
    for number, writer in enumerate(writers):
        pending = writer.begin(target(writer, "/notes/old.gmi"))
        pending.write(f"# Version {number}\n".encode())
        pendings.append(pending)
    threads = [threading.Thread(target=pending.commit) for pending in pendings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kept = {version.read_text() for version in Versions(root).of("notes/old.gmi")}
    current = (root / "notes" / "old.gmi").read_text()
    # Every content ever written is either served or kept, exactly once.
    assert kept | {current} == {"# Old\n"} | {f"# Version {n}\n" for n in range(8)}
    assert len(Versions(root).of("notes/old.gmi")) == 8
    assert leftovers(root) == []


def test_new_files_get_the_usual_mode(root: Path) -> None:
    previous = os.umask(0o022)
    try:
        write(RootWriter(root), "/fresh.gmi", b"x")
    finally:
        os.umask(previous)
    assert (root / "fresh.gmi").stat().st_mode & 0o777 == 0o644
