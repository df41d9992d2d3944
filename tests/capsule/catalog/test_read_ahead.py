"""Reading files ahead in threads when they are not in the page cache: same results, same
order, errors in their place, and threads only when the device would be waited for."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from capsule.catalog.read_ahead import CHUNK, read_ahead
from capsule.catalog.store import Catalog
from tests.harness import write_page

FILES = 5 * CHUNK + 7


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache, as a boot or memory pressure would."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def files(tmp_path: Path, count: int = FILES) -> list[Path]:
    made = []
    for number in range(count):
        path = tmp_path / f"file-{number:04}.gmi"
        path.write_bytes(f"# File {number}\n".encode() * 50)
        made.append(path)
    return made


class Reads:
    """Reads whole files, noting which threads did."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def __call__(self, path: str) -> bytes:
        self.threads.add(threading.current_thread().name)
        with open(path, "rb") as file:
            return file.read()


def read_ahead_threads() -> list[threading.Thread]:
    return [each for each in threading.enumerate() if each.name.startswith("read-ahead")]


def test_cached_files_are_read_in_order_by_the_caller(tmp_path: Path) -> None:
    paths = files(tmp_path)
    reads = Reads()
    results = list(read_ahead([str(path) for path in paths], reads))
    assert results == [path.read_bytes() for path in paths]
    assert reads.threads == {threading.current_thread().name}


def test_files_not_cached_are_read_ahead_by_threads_in_order(tmp_path: Path) -> None:
    paths = files(tmp_path)
    expected = [path.read_bytes() for path in paths]
    for path in paths:
        evict(path)
    (tmp_path / "file-0100.gmi").unlink()
    reads = Reads()
    results = list(read_ahead([str(path) for path in paths], reads))
    assert isinstance(results[100], FileNotFoundError)
    assert results[:100] + results[101:] == expected[:100] + expected[101:]
    assert reads.threads and all(name.startswith("read-ahead") for name in reads.threads)
    assert read_ahead_threads() == []


def test_stopping_early_leaves_no_thread_behind(tmp_path: Path) -> None:
    paths = files(tmp_path)
    for path in paths:
        evict(path)
    reading = read_ahead([str(path) for path in paths], Reads())
    assert next(reading) == paths[0].read_bytes()
    assert read_ahead_threads()
    reading.close()
    assert read_ahead_threads() == []


def test_a_catalog_lists_pages_not_cached_as_it_lists_cached_ones(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for number in range(FILES):
        write_page(
            root,
            f"2026/01/{number % 28 + 1:02}/story-{number}.gmi",
            (f"Summary: Story {number} in a line.\n\n" if number % 3 == 0 else "")
            + f"# Story {number}\n\nWhat happened, told for page {number}.\n",
        )
    cached = Catalog(root, tmp_path / "cached.sqlite")
    cached.refresh()
    for page in root.rglob("*.gmi"):
        if page.is_file():
            evict(page)
    evicted = Catalog(root, tmp_path / "evicted.sqlite")
    evicted.refresh()
    assert len(evicted.articles) == FILES
    assert [
        (article.path, article.title, article.summary) for article in evicted.articles
    ] == [(article.path, article.title, article.summary) for article in cached.articles]
    cached.close()
    evicted.close()
