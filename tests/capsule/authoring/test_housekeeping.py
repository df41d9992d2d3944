"""What uploads clean up after themselves: versions past their count or age, and the
directories a deletion empties, never above the path the rule grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from capsule.authoring.versions import VERSIONS_NAME, Versions
from capsule.authoring.writes import RootWriter, Target
from capsule.rules.upload_policy import UploadRule

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FINGERPRINT = "a" * 64


def rule(*patterns: str) -> UploadRule:
    return UploadRule(patterns, frozenset({FINGERPRINT}), allow_delete=True)


def kept_versions(root: Path, relative: str, *ages_in_days: float) -> list[Path]:
    """Versions of `relative` as if they stopped being served that many days before NOW."""
    folder = root / VERSIONS_NAME / relative
    folder.mkdir(parents=True)
    made = []
    for age in ages_in_days:
        stamp = (NOW - timedelta(days=age)).strftime("%Y%m%dT%H%M%S.%fZ")
        (folder / stamp).write_text(f"{age} days old")
        made.append(folder / stamp)
    return made


def target(writer: RootWriter, path: str) -> Target:
    found = writer.target(path, make_directories=False)
    assert isinstance(found, Target), found
    return found


@pytest.mark.parametrize(
    ("keep", "days", "left"),
    [
        (0, 0, [40, 20, 10, 1]),
        (2, 0, [10, 1]),
        (0, 15, [10, 1]),
        (3, 5, [1]),
        (1, 30, [1]),
    ],
)
def test_pruning_keeps_the_newest_versions_within_count_and_age(
    tmp_path: Path, keep: int, days: int, left: list[int]
) -> None:
    versions = Versions(tmp_path)
    kept_versions(tmp_path, "notes/a.gmi", 40, 20, 10, 1)
    versions.prune("notes/a.gmi", keep, days, NOW)
    assert [path.read_text() for path in versions.of("notes/a.gmi")] == [
        f"{age} days old" for age in left
    ]


def test_pruning_every_version_removes_the_files_folders(tmp_path: Path) -> None:
    versions = Versions(tmp_path)
    kept_versions(tmp_path, "notes/2026/a.gmi", 40)
    kept_versions(tmp_path, "notes/b.gmi", 1)
    versions.prune("notes/2026/a.gmi", 0, 30, NOW)
    assert not (versions.directory / "notes" / "2026").exists()
    assert (versions.directory / "notes" / "b.gmi").is_dir()


def test_pruning_leaves_names_it_did_not_make(tmp_path: Path) -> None:
    versions = Versions(tmp_path)
    kept_versions(tmp_path, "a.gmi", 40)
    (versions.directory / "a.gmi" / "README").write_text("the operator's note")
    versions.prune("a.gmi", 0, 30, NOW)
    assert [path.name for path in versions.of("a.gmi")] == ["README"]


def test_writing_prunes_through_the_writer(tmp_path: Path) -> None:
    (tmp_path / "a.gmi").write_text("current")
    writer = RootWriter(tmp_path)
    for text in ("one", "two", "three"):
        pending = writer.begin(target(writer, "/a.gmi"))
        pending.write(text.encode())
        pending.commit()
        writer.prune("a.gmi", 2, 0)
    assert [path.read_text() for path in writer.versions.of("a.gmi")] == ["one", "two"]


def test_a_deletion_removes_the_directories_it_empties_up_to_the_granted_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes" / "2026" / "01").mkdir(parents=True)
    (tmp_path / "notes" / "2026" / "01" / "a.gmi").write_text("# A\n")
    writer = RootWriter(tmp_path)
    assert writer.delete(target(writer, "/notes/2026/01/a.gmi"), rule("notes").covers_folder)
    assert not (tmp_path / "notes" / "2026").exists()
    assert (tmp_path / "notes").is_dir()


def test_a_deletion_keeps_directories_that_still_hold_something(tmp_path: Path) -> None:
    (tmp_path / "notes" / "2026" / "01").mkdir(parents=True)
    (tmp_path / "notes" / "2026" / "01" / "a.gmi").write_text("# A\n")
    (tmp_path / "notes" / "2026" / "b.gmi").write_text("# B\n")
    writer = RootWriter(tmp_path)
    writer.delete(target(writer, "/notes/2026/01/a.gmi"), rule("notes").covers_folder)
    assert not (tmp_path / "notes" / "2026" / "01").exists()
    assert (tmp_path / "notes" / "2026" / "b.gmi").exists()


def test_a_deletion_under_a_file_pattern_removes_no_directory(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.gmi").write_text("# A\n")
    writer = RootWriter(tmp_path)
    writer.delete(target(writer, "/notes/a.gmi"), rule("notes/*.gmi").covers_folder)
    assert (tmp_path / "notes").is_dir()


def test_a_deletion_never_removes_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.gmi").write_text("# A\n")
    writer = RootWriter(root)
    writer.delete(target(writer, "/a.gmi"), rule("").covers_folder)
    assert root.is_dir()
