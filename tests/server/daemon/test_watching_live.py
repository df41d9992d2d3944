"""A real `capsule serve` told of changes by the kernel: lists and search follow an edit in place
at once though the polling intervals are an hour; without inotify it says so and polls."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from capsule.catalog.store import Catalog
from server.daemon.watching import DiskWatch
from tests.harness import CapsuleProcess, write_page
from tests.server.gemini.test_publication_live import eventually, gemini, http

HOUR = "3600"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Garden News\n{{recent 5}}\n")
    write_page(root, "/2026/11/20/roses.gmi", "# Roses in winter\nPruning roses.\n")
    for directory in (root, root / "2026", root / "2026" / "11", root / "2026" / "11" / "20"):
        os.utime(directory, (1_000_000_000, 1_000_000_000))  # settled long ago
    return root


@pytest.fixture
def capsule(root: Path, tmp_path: Path) -> Iterator[CapsuleProcess]:
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--root", str(root),
        "--index-interval", HOUR, "--full-index-interval", HOUR, "--rescan-interval", HOUR,
        state_dir=tmp_path / "state",
        log_dir=tmp_path,
    ) as process:
        eventually(lambda: "Roses in winter" in gemini(process, "/feed.gmi")[1])
        yield process


def test_an_edit_in_place_reaches_lists_and_search_without_polling(
    capsule: CapsuleProcess, root: Path
) -> None:
    page = root / "2026" / "11" / "20" / "roses.gmi"
    inode = page.stat().st_ino
    with page.open("r+") as file:  # truncate and write, as editors that keep the inode do
        file.truncate(0)
        file.write("# Roses under snow\nMulching against frost.\n")
    assert page.stat().st_ino == inode
    eventually(lambda: "Roses under snow" in gemini(capsule, "/feed.gmi")[1], seconds=5)
    eventually(lambda: "/2026/11/20/roses" in gemini(capsule, "/search?mulching")[1], seconds=5)
    eventually(lambda: "Roses under snow" in http(capsule, "/feed.html")[2], seconds=5)


def test_an_article_in_a_new_directory_is_listed_and_its_directory_watched(
    capsule: CapsuleProcess, root: Path
) -> None:
    write_page(root, "/2026/12/01/tulips.gmi", "# Tulips\nBulbs in December.\n")
    eventually(lambda: "Tulips" in gemini(capsule, "/feed.gmi")[1], seconds=5)
    page = root / "2026" / "12" / "01" / "tulips.gmi"
    with page.open("a") as file:
        file.write("Plant them deep.\n")
    eventually(lambda: "/2026/12/01/tulips" in gemini(capsule, "/search?deep")[1], seconds=5)


def test_a_deleted_article_leaves_the_lists(capsule: CapsuleProcess, root: Path) -> None:
    (root / "2026" / "11" / "20" / "roses.gmi").unlink()
    eventually(lambda: "Roses" not in gemini(capsule, "/feed.gmi")[1], seconds=5)


class _FullInotify:
    """An inotify instance whose watch table is full, as at fs.inotify.max_user_watches."""

    def add_watch(self, path: str, mask: int) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def rm_watch(self, descriptor: int) -> None:
        raise AssertionError("nothing was watched")


def test_a_full_watch_table_turns_to_polling_with_one_log_line(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    watch = DiskWatch(_FullInotify())  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        watch.follow(catalog)
        watch.follow(catalog)
    assert not watch.active
    assert [record.getMessage() for record in caplog.records] == [
        f"the kernel cannot watch every directory of {catalog.root} "
        "(No space left on device; raise fs.inotify.max_user_watches to fix); "
        "polling the capsule roots instead"
    ]
    catalog.close()


async def test_the_watch_reports_the_directory_of_a_file_written(
    root: Path, tmp_path: Path
) -> None:
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    await trio.to_thread.run_sync(catalog.refresh)
    watch = DiskWatch.open()
    assert watch.active
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch.run)
        watch.follow(catalog)
        # Watched anew: every directory is read once more.
        assert watch.take(catalog) == frozenset({"", "/2026", "/2026/11", "/2026/11/20"})
        await watch.wake.receive()
        (root / "2026" / "11" / "20" / "roses.gmi").write_text("# Roses\n")
        await watch.wake.receive()
        assert watch.take(catalog) == frozenset({"/2026/11/20"})
        assert watch.take(catalog) == frozenset()
        nursery.cancel_scope.cancel()
    catalog.close()


def test_a_file_written_before_its_directory_is_watched_is_read_again(
    root: Path, tmp_path: Path
) -> None:
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    # Written after the refresh read it, before the watch starts: the kernel reports nothing.
    (root / "2026" / "11" / "20" / "roses.gmi").write_text("# Roses under snow\n")
    watch = DiskWatch.open()
    watch.follow(catalog)
    watch.follow(catalog)  # watched already: nothing more to read
    catalog.refresh(False, watch.take(catalog) or frozenset())
    assert [article.title for article in catalog.articles] == ["Roses under snow"]
    assert watch.take(catalog) == frozenset()
    catalog.close()
