"""The kernel's reports of changed directories, as kept mirror responses use them."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

import pytest

from server.mirror.change_watch import ChangeWatch


@pytest.fixture
def watch() -> ChangeWatch:
    opened = ChangeWatch.open()
    if opened is None:
        pytest.fail("this kernel offers no inotify: the tests of the stat check cover it")
    return opened


def test_a_write_in_a_watched_directory_is_a_change_only_for_what_watched_it(
    watch: ChangeWatch, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    both = watch.watch([str(tmp_path), str(tmp_path / "a")])
    other = watch.watch([str(tmp_path / "b")])
    assert both is not None and other is not None
    assert both.unchanged() and other.unchanged()
    (tmp_path / "a" / "page.gmi").write_text("# New\n")
    assert not both.unchanged()
    assert other.unchanged()
    again = watch.watch([str(tmp_path), str(tmp_path / "a")])
    assert again is not None and again.unchanged()


def test_a_permission_change_is_a_change(watch: ChangeWatch, tmp_path: Path) -> None:
    page = tmp_path / "page.gmi"
    page.write_text("# Page\n")
    watched = watch.watch([str(tmp_path)])
    assert watched is not None
    os.chmod(page, 0o600)
    assert not watched.unchanged()


def test_a_directory_made_again_is_watched_anew(watch: ChangeWatch, tmp_path: Path) -> None:
    directory = tmp_path / "day"
    directory.mkdir()
    first = watch.watch([str(directory)])
    directory.rmdir()
    directory.mkdir()
    assert first is not None and not first.unchanged()
    second = watch.watch([str(directory)])
    assert second is not None and second.unchanged()
    (directory / "x.gmi").write_text("x")
    assert not second.unchanged()


def test_past_its_share_of_watches_the_caller_is_told_to_stat(
    watch: ChangeWatch, tmp_path: Path
) -> None:
    watch.max_watched = 1
    assert watch.watch([str(tmp_path)]) is not None
    (tmp_path / "a").mkdir()
    assert watch.watch([str(tmp_path), str(tmp_path / "a")]) is None


def test_a_missing_directory_cannot_be_watched(watch: ChangeWatch, tmp_path: Path) -> None:
    assert watch.watch([str(tmp_path / "missing")]) is None


@pytest.mark.parametrize("failing_call", ["read", "ioctl"])
def test_a_descriptor_that_cannot_be_read_trusts_nothing(
    watch: ChangeWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_call: str
) -> None:
    watched = watch.watch([str(tmp_path)])
    assert watched is not None
    (tmp_path / "new.gmi").write_text("# New\n")  # a report is queued: it has to be read

    def failing(*args: object) -> bytes:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os if failing_call == "read" else fcntl, failing_call, failing)
    assert not watched.unchanged()
    assert watch.watch([str(tmp_path)]) is None
