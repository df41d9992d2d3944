"""A damaged, unusable or starved catalog: serving and indexing go on, errors say what to fix."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import resource
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trio
import trio.testing

from capsule.catalog.scan import TreeScanner
from capsule.catalog.store import Catalog, CatalogError, Changes, Progress
from server.daemon.indexing import keep_fresh
from server.settings.config import IndexSettings
from tests.harness import write_page

ARTICLES = ["/2026-11-22-second.gmi", "/2026/11/20/first.gmi"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# My news\n")
    write_page(root, "/2026/11/20/first.gmi", "# First article\nAbout café culture.\n")
    write_page(root, "/2026-11-22-second.gmi", "No heading here, only text about tea.\n")
    write_page(root, "/about.gmi", "# About\nA page about coffee and tea.\n")
    return root


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "state" / "index.sqlite3"


def checkpointed(root: Path, database: Path) -> Catalog:
    """A writer whose pages sit in the database file itself, where closing the last connection
    moved them from the write-ahead log."""
    catalog = Catalog(root, database)
    catalog.refresh()
    catalog.close()
    return Catalog(root, database)


def truncate(database: Path) -> None:
    os.truncate(database, database.stat().st_size // 2)


def scribble(database: Path) -> None:
    """Random bytes over the whole file, in place, as a stray write or a bad disk would."""
    with database.open("r+b") as file:
        file.write(os.urandom(database.stat().st_size))


DAMAGES = pytest.mark.parametrize("damage", [truncate, scribble], ids=["truncated", "garbage"])


def set_aside(database: Path) -> list[Path]:
    return sorted(database.parent.glob(f"{database.name}.corrupt-*"))


def assert_serves_everything(catalog: Catalog) -> None:
    assert [article.path for article in catalog.articles] == ARTICLES
    assert [hit.path for hit in catalog.search("café").hits] == ["/2026/11/20/first.gmi"]
    assert catalog.title_of("/about.gmi") == "About"


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@DAMAGES
def test_damaged_catalog_is_set_aside_and_rebuilt_at_startup(
    damage: Callable[[Path], None], root: Path, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointed(root, database).close()
    damage(database)
    catalog = Catalog(root, database)
    assert catalog.refresh() == Changes(added=4)
    assert_serves_everything(catalog)
    (aside,) = set_aside(database)
    [warning] = warnings(caplog)
    assert warning.startswith(f"catalog {database} is damaged (")
    assert warning.endswith(f"): moved it aside to {aside}; rebuilding it from {catalog.root}")


@DAMAGES
def test_damaged_catalog_is_set_aside_and_rebuilt_between_refreshes(
    damage: Callable[[Path], None], root: Path, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = checkpointed(root, database)
    damage(database)
    assert [article.path for article in catalog.articles] == ARTICLES
    assert catalog.refresh(full=True) == Changes(added=4)
    assert_serves_everything(catalog)
    assert len(set_aside(database)) == 1
    assert len(warnings(caplog)) == 1


def test_companion_files_go_aside_with_the_catalog_and_stale_connections_spare_the_new_one(
    root: Path, database: Path
) -> None:
    catalog = checkpointed(root, database)
    with searching_threads(catalog, 1):
        scribble(database)
        catalog.refresh()
    stamp = len("20261125T101010Z")
    assert {path.name.split(".corrupt-")[1][stamp:] for path in set_aside(database)} == {
        "",
        "-wal",
        "-shm",
    }
    assert_serves_everything(catalog)


def test_damage_a_search_meets_is_repaired_by_the_next_quick_refresh(
    root: Path, database: Path
) -> None:
    catalog = checkpointed(root, database)
    scribble(database)
    found: list[object] = []
    in_another_thread(lambda: found.append(catalog.search("tea").hits))
    assert found == [()]
    assert catalog.refresh(full=False) == Changes(added=4)
    assert_serves_everything(catalog)


def test_follower_never_moves_a_damaged_catalog_aside(
    root: Path, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointed(root, database).close()
    scribble(database)
    damaged = database.read_bytes()
    follower = Catalog(root, database, writer=False)
    assert follower.refresh() == Changes()
    assert follower.refresh() == Changes()
    assert follower.articles == ()
    assert database.read_bytes() == damaged
    assert set_aside(database) == []
    [warning] = warnings(caplog)
    assert warning.startswith(f"catalog {database} is damaged")


def test_search_in_a_damaged_catalog_finds_nothing(root: Path, database: Path) -> None:
    checkpointed(root, database).close()
    scribble(database)
    follower = Catalog(root, database, writer=False)
    assert follower.search("tea").hits == ()
    assert follower.title_of("/about.gmi") is None


def test_follower_reads_the_catalog_the_writer_rebuilt(root: Path, database: Path) -> None:
    checkpointed(root, database).close()
    scribble(database)
    follower = Catalog(root, database, writer=False)
    Catalog(root, database).refresh()
    assert follower.refresh() == Changes(added=4)
    assert_serves_everything(follower)


def test_follower_keeps_its_articles_until_the_writer_has_rebuilt(
    root: Path, database: Path
) -> None:
    writer = checkpointed(root, database)
    follower = Catalog(root, database, writer=False)
    scribble(database)
    assert follower.refresh() == Changes()
    assert [article.path for article in follower.articles] == ARTICLES
    writer.refresh()
    assert follower.refresh() == Changes()
    assert_serves_everything(follower)


def under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("")
    return tmp_path / "file" / "state" / "index.sqlite3"


def in_a_file(tmp_path: Path) -> Path:
    (tmp_path / "index").write_text("")
    return tmp_path / "index" / "index.sqlite3"


def a_directory(tmp_path: Path) -> Path:
    (tmp_path / "index.sqlite3").mkdir()
    return tmp_path / "index.sqlite3"


def in_proc(tmp_path: Path) -> Path:
    return Path("/proc/capsule-catalog/index.sqlite3")


@pytest.mark.parametrize("place", [under_a_file, in_a_file, a_directory, in_proc])
def test_unusable_catalog_place_is_a_catalog_error_naming_it(
    place: Callable[[Path], Path], root: Path, tmp_path: Path
) -> None:
    database = place(tmp_path)
    message = f"capsule needs to create and write {database} for search and the archive: "
    with pytest.raises(CatalogError, match="^" + re.escape(message)):
        Catalog(root, database)


def database_descriptors(database: Path) -> int:
    """Descriptors of this process open on the database file itself."""
    target = str(database.resolve())
    count = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{name}") == target
    return count


def in_another_thread(work: Callable[[], object]) -> None:
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


@contextlib.contextmanager
def searching_threads(catalog: Catalog, count: int) -> Iterator[None]:
    """`count` threads that have searched and wait, alive, until the block ends."""
    searched = threading.Barrier(count + 1)
    release = threading.Event()

    def search() -> None:
        catalog.search("tea")
        searched.wait()
        release.wait()

    threads = [threading.Thread(target=search) for _ in range(count)]
    for thread in threads:
        thread.start()
    searched.wait()
    try:
        yield
    finally:
        release.set()
        for thread in threads:
            thread.join()


def test_connections_close_when_their_threads_end(root: Path, database: Path) -> None:
    made: list[Catalog] = []
    in_another_thread(lambda: made.append(Catalog(root, database)) or made[0].refresh())
    [catalog] = made
    assert database_descriptors(database) == 0
    with searching_threads(catalog, 8):
        assert database_descriptors(database) == 8
    assert database_descriptors(database) == 0


def test_descriptors_of_closed_connections_are_reused_not_piled_up(
    root: Path, database: Path
) -> None:
    # While one connection of the process holds the file, SQLite keeps the descriptors of
    # closed ones (closing one would drop that connection's lock) and reuses them.
    catalog = Catalog(root, database)
    catalog.refresh()
    with searching_threads(catalog, 8):
        peak = database_descriptors(database)
    for _ in range(3):
        with searching_threads(catalog, 8):
            pass
    assert database_descriptors(database) <= peak


def test_close_closes_every_connection_of_every_thread(root: Path, database: Path) -> None:
    writer = Catalog(root, database)
    writer.refresh()
    follower = Catalog(root, database, writer=False)
    with searching_threads(writer, 3), searching_threads(follower, 3):
        writer.close()
        follower.close()
        assert database_descriptors(database) == 0


class DescriptorLimit:
    """Lowers this process's open-file limit so that no descriptor can be opened, and back."""

    def __init__(self) -> None:
        self.soft, self.hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def exhaust(self) -> None:
        lowest_free = os.open(os.devnull, os.O_RDONLY)
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, self.hard))

    def restore(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.soft, self.hard))

    @contextlib.contextmanager
    def exhausted(self) -> Iterator[None]:
        self.exhaust()
        try:
            yield
        finally:
            self.restore()


@pytest.fixture
def descriptors() -> Iterator[DescriptorLimit]:
    limit = DescriptorLimit()
    try:
        yield limit
    finally:
        limit.restore()


def test_scan_short_of_descriptors_fails_rather_than_see_empty_directories(
    root: Path, descriptors: DescriptorLimit
) -> None:
    scanner = TreeScanner(root)
    with pytest.raises(OSError) as raised, descriptors.exhausted():
        scanner.scan(full=True)
    assert raised.value.errno == errno.EMFILE


@pytest.mark.parametrize("full", [True, False])
def test_refresh_short_of_descriptors_raises_emfile_and_loses_no_page(
    full: bool, root: Path, database: Path, descriptors: DescriptorLimit
) -> None:
    catalog = Catalog(root, database)
    catalog.refresh()
    write_page(root, "/2026/11/20/another.gmi", "# Another\n")
    with pytest.raises(OSError) as raised, descriptors.exhausted():
        catalog.refresh(full)
    assert raised.value.errno == errno.EMFILE
    assert catalog.refresh(full=False) == Changes(added=1)
    assert len(catalog.articles) == 3


class Rounds:
    """A `catalogs` callable for keep_fresh that calls `before(n)` ahead of each round n
    (1, 2, …) and has keep_fresh stop after round `last`."""

    def __init__(
        self, catalog: Catalog, last: int, before: Callable[[int], None] = lambda n: None
    ) -> None:
        self.catalog = catalog
        self.last = last
        self.before = before
        self.done = 0
        self.shutdown = trio.Event()

    def __call__(self) -> list[Catalog]:
        self.done += 1
        self.before(self.done)
        if self.done == self.last:
            self.shutdown.set()
        return [self.catalog]


INSTANT = IndexSettings(quick_interval=0.0, full_interval=60.0, watch=False)
"""Polling at once, round after round: these tests are about failures, not about inotify."""


async def test_keep_fresh_skips_refreshes_short_of_descriptors_and_retries(
    root: Path,
    database: Path,
    descriptors: DescriptorLimit,
    caplog: pytest.LogCaptureFixture,
    mock_clock: trio.testing.MockClock,
) -> None:
    catalog = Catalog(root, database)
    catalog.refresh()
    write_page(root, "/2026/11/25/third.gmi", "# Third\n")

    def before_round(number: int) -> None:
        if number == 1:
            descriptors.exhaust()
        elif number == 4:
            descriptors.restore()

    rounds = Rounds(catalog, 4, before_round)
    await keep_fresh(rounds, INSTANT, rounds.shutdown)
    assert catalog.articles[0].path == "/2026/11/25/third.gmi"
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        f"indexing {catalog.root} skipped: [Errno 24] Too many open files: '{database}'; "
        "serving the previous index until the next refresh"
    )


async def test_keep_fresh_logs_an_unexpected_failure_with_its_traceback_and_goes_on(
    root: Path, database: Path, caplog: pytest.LogCaptureFixture, mock_clock: trio.testing.MockClock
) -> None:
    class Failing(Catalog):
        failures = 2

        def refresh(
            self,
            full: bool = True,
            touched: frozenset[str] = frozenset(),
            progress: Progress = lambda done, total: None,
        ) -> Changes:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("refresh broke")
            return super().refresh(full, touched, progress)

    catalog = Failing(root, database)
    rounds = Rounds(catalog, 3)
    await keep_fresh(rounds, INSTANT, rounds.shutdown)
    assert [article.path for article in catalog.articles] == ARTICLES
    [error] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert error.levelno == logging.ERROR
    assert error.getMessage() == f"indexing {catalog.root} failed; serving the previous index"
    assert error.exc_info is not None and str(error.exc_info[1]) == "refresh broke"


async def test_keep_fresh_outlives_catalogs_that_cannot_be_listed(
    root: Path, database: Path, caplog: pytest.LogCaptureFixture, mock_clock: trio.testing.MockClock
) -> None:
    catalog = Catalog(root, database)

    def before_round(number: int) -> None:
        if number == 1:
            raise RuntimeError("no catalogs today")

    rounds = Rounds(catalog, 2, before_round)
    await keep_fresh(rounds, INSTANT, rounds.shutdown)
    assert [article.path for article in catalog.articles] == ARTICLES
    assert [r.getMessage() for r in caplog.records] == ["listing the catalogs to index failed"]


async def test_keep_fresh_logs_a_full_state_disk_once_a_minute_without_traceback(
    root: Path,
    database: Path,
    caplog: pytest.LogCaptureFixture,
    autojump_clock: trio.testing.MockClock,
) -> None:
    class OnFullDisk(Catalog):
        def refresh(self, *args: object, **kwargs: object) -> Changes:
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = 13  # type: ignore[attr-defined]  # SQLITE_FULL
            raise error

    catalog = OnFullDisk(root, database)
    every_two_seconds = IndexSettings(quick_interval=2.0, full_interval=60.0, watch=False)
    rounds = Rounds(catalog, 60)  # two minutes of quick refreshes
    await keep_fresh(rounds, every_two_seconds, rounds.shutdown)
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 2
    assert all(not r.exc_info and r.levelno == logging.WARNING for r in records)
    assert records[0].getMessage() == (
        f"indexing {catalog.root} skipped: database or disk is full; "
        "serving the previous index until the state directory can be written again"
    )
