"""The SQLite catalog: incremental refresh, persistence, articles and full-text search."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from datetime import date
from pathlib import Path

import pytest

from capsule.catalog.search_text import fts_query
from capsule.catalog.store import Catalog, Changes
from tests.harness import write_page


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# My news\n")
    write_page(root, "/2026/11/20/first.gmi", "# First article\nAbout café culture.\n")
    write_page(root, "/2026-11-22-second.gmi", "No heading here, only text about tea.\n")
    write_page(root, "/about.gmi", "# About\nA page about coffee and tea.\n")
    write_page(root, "/.drafts/2026-11-23-draft.gmi", "# Draft\n")
    return root


@pytest.fixture
def catalog(root: Path, tmp_path: Path) -> Catalog:
    catalog = Catalog(root, tmp_path / "state" / "index.sqlite3")
    catalog.refresh()
    return catalog


def test_articles_are_newest_first_with_titles_or_slug(catalog: Catalog) -> None:
    assert [(a.path, a.published, a.title) for a in catalog.articles] == [
        ("/2026-11-22-second.gmi", date(2026, 11, 22), "Second"),
        ("/2026/11/20/first.gmi", date(2026, 11, 20), "First article"),
    ]


def test_first_refresh_adds_every_page_and_skips_dotfiles(root: Path, tmp_path: Path) -> None:
    catalog = Catalog(root, tmp_path / "other.sqlite3")
    assert catalog.refresh() == Changes(added=4)


def test_refresh_without_changes_reads_nothing(catalog: Catalog) -> None:
    assert catalog.refresh() == Changes()


def test_new_article_appears_after_refresh(catalog: Catalog, root: Path) -> None:
    write_page(root, "/2026/11/25/third.gmi", "# Third\n")
    assert catalog.refresh() == Changes(added=1)
    newest = catalog.articles[0]
    assert (newest.path, newest.published, newest.title) == (
        "/2026/11/25/third.gmi", date(2026, 11, 25), "Third"
    )


def test_changed_article_is_reread(catalog: Catalog, root: Path) -> None:
    page = write_page(root, "/2026/11/20/first.gmi", "# Renamed article\nNow about chess.\n")
    os.utime(page, ns=(1, 1))
    assert catalog.refresh() == Changes(changed=1)
    assert catalog.title_of("/2026/11/20/first.gmi") == "Renamed article"
    assert [hit.path for hit in catalog.search("chess").hits] == ["/2026/11/20/first.gmi"]
    assert catalog.search("café").hits == ()


def test_deleted_article_vanishes_from_articles_and_search(catalog: Catalog, root: Path) -> None:
    (root / "2026" / "11" / "20" / "first.gmi").unlink()
    assert catalog.refresh() == Changes(removed=1)
    assert [article.path for article in catalog.articles] == ["/2026-11-22-second.gmi"]
    assert catalog.search("café").hits == ()


def test_index_survives_a_restart(catalog: Catalog, root: Path, tmp_path: Path) -> None:
    reopened = Catalog(root, tmp_path / "state" / "index.sqlite3")
    assert reopened.articles == catalog.articles
    assert reopened.refresh() == Changes()


def test_search_ranks_title_matches_first(catalog: Catalog) -> None:
    hits = catalog.search("tea").hits
    assert {hit.path for hit in hits} == {"/2026-11-22-second.gmi", "/about.gmi"}
    assert catalog.search("about").hits[0].path == "/about.gmi"


def test_search_ignores_accents_and_case(catalog: Catalog) -> None:
    assert [hit.path for hit in catalog.search("CAFE").hits] == ["/2026/11/20/first.gmi"]


def test_search_returns_a_snippet_around_the_match(catalog: Catalog) -> None:
    (hit,) = catalog.search("culture").hits
    assert "culture" in hit.snippet


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "'",
        "tea OR coffee",
        "NEAR(tea coffee)",
        "tea*",
        "^tea",
        "title:tea",
        "-tea",
        "tea AND",
        "(",
        ")",
        "{}",
        "'; DROP TABLE pages; --",
        "\x00",
        "日本語",
        "🙂 tea",
        "a" * 10_000,
        "* * *",
        ":",
        'tea"coffee',
    ],
)
def test_search_syntax_in_queries_is_inert(catalog: Catalog, query: str) -> None:
    catalog.search(query)
    assert catalog.refresh() == Changes()
    assert len(catalog.articles) == 2


def test_fts_operators_are_quoted_as_words() -> None:
    assert fts_query("tea OR coffee") == '"tea" "OR" "coffee"'
    assert fts_query('NEAR("x" y)*') == '"NEAR" "x" "y"'
    assert fts_query("!!!") == ""


def test_unicode_words_are_searchable(catalog: Catalog, root: Path) -> None:
    write_page(root, "/2026-11-24-tokyo.gmi", "# 東京 ニュース\nΕλληνικά κείμενο\n")
    catalog.refresh()
    assert [hit.path for hit in catalog.search("Ελληνικά").hits] == ["/2026-11-24-tokyo.gmi"]


def test_index_of_another_schema_version_is_rebuilt(root: Path, tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE pages (junk TEXT)")
        connection.execute("PRAGMA user_version = 99")
    catalog = Catalog(root, database)
    assert catalog.refresh() == Changes(added=4)


def test_quick_refresh_finds_a_new_article(catalog: Catalog, root: Path) -> None:
    write_page(root, "/2026/11/20/another.gmi", "# Another\n")
    assert catalog.refresh(full=False) == Changes(added=1)


def test_quick_refresh_finds_a_deleted_directory_of_articles(catalog: Catalog, root: Path) -> None:
    for page in (root / "2026" / "11" / "20").iterdir():
        page.unlink()
    for directory in ("2026/11/20", "2026/11", "2026"):
        (root / directory).rmdir()
    assert catalog.refresh(full=False) == Changes(removed=1)
    assert [article.path for article in catalog.articles] == ["/2026-11-22-second.gmi"]


def test_full_refresh_finds_an_in_place_edit_a_quick_one_may_miss(
    catalog: Catalog, root: Path
) -> None:
    page = root / "about.gmi"
    with page.open("a") as file:
        file.write("Now also about chess.\n")
    catalog.refresh(full=False)
    assert catalog.refresh(full=True) in (Changes(changed=1), Changes())
    assert [hit.path for hit in catalog.search("chess").hits] == ["/about.gmi"]


def test_quick_refresh_rereads_the_directories_it_is_told_were_touched(
    root: Path, tmp_path: Path
) -> None:
    for directory in (root, root / "2026" / "11" / "20"):
        os.utime(directory, (1_000_000_000, 1_000_000_000))  # settled long ago
    catalog = Catalog(root, tmp_path / "state" / "index.sqlite3")
    catalog.refresh()
    page = root / "about.gmi"
    with page.open("a") as file:  # in place: the directory's mtime does not move
        file.write("Now also about chess.\n")
    os.utime(page, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    assert catalog.refresh(full=False) == Changes()
    assert catalog.refresh(full=False, touched=frozenset({""})) == Changes(changed=1)
    assert [hit.path for hit in catalog.search("chess").hits] == ["/about.gmi"]
    assert {"", "/2026", "/2026/11", "/2026/11/20"} <= catalog.directories()


def test_follower_sees_what_the_writer_committed(
    catalog: Catalog, root: Path, tmp_path: Path
) -> None:
    follower = Catalog(root, tmp_path / "state" / "index.sqlite3", writer=False)
    assert follower.articles == catalog.articles
    write_page(root, "/2026/11/25/third.gmi", "# Third\n")
    assert follower.refresh() == Changes()
    catalog.refresh()
    assert follower.refresh() == Changes(added=1)
    assert follower.articles[0].title == "Third"
    assert [hit.path for hit in follower.search("third").hits] == ["/2026/11/25/third.gmi"]


def test_follower_never_writes_the_index(root: Path, tmp_path: Path) -> None:
    follower = Catalog(root, tmp_path / "index.sqlite3", writer=False)
    assert follower.refresh() == Changes()
    assert follower.articles == ()


def test_follower_sees_commits_whichever_thread_asks(
    catalog: Catalog, root: Path, tmp_path: Path
) -> None:
    follower = Catalog(root, tmp_path / "state" / "index.sqlite3", writer=False)
    write_page(root, "/2026/11/25/fourth.gmi", "# Fourth\n")
    catalog.refresh()
    results: list[Changes] = []
    thread = threading.Thread(target=lambda: results.append(follower.refresh()))
    thread.start()
    thread.join()
    assert results == [Changes(added=1)]


def test_a_file_name_that_is_not_utf8_is_skipped(catalog: Catalog, root: Path) -> None:
    (root / os.fsdecode(b"caf\xe9.gmi")).write_text("# Latin-1 name\n")
    write_page(root, "/2026/11/25/after.gmi", "# After\n")
    assert catalog.refresh() == Changes(added=1)
    assert [hit.path for hit in catalog.search("after").hits] == ["/2026/11/25/after.gmi"]


def test_pages_of_a_directory_deleted_while_stopped_vanish_at_the_first_refresh(
    catalog: Catalog, root: Path, tmp_path: Path
) -> None:
    catalog.close()
    shutil.rmtree(root / "2026")
    reopened = Catalog(root, tmp_path / "state" / "index.sqlite3")
    assert reopened.refresh(full=False) == Changes(removed=1)
    assert [article.path for article in reopened.articles] == ["/2026-11-22-second.gmi"]
    assert reopened.search("café").hits == ()
