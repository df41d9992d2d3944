"""The catalog's full-text index: filled after the lists, holding no copy of the text, and
searched at a cost bounded however many pages match."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from capsule.catalog import searching, store
from capsule.catalog.store import Catalog
from capsule.publication.search_pages import SearchPage, results_page
from tests.harness import write_page


class StopAtText(Exception):
    """Raised by a progress callback once the refresh starts on the full text."""


def stop_at_text() -> store.Progress:
    """A progress callback that stops a refresh as it starts its second stage, the text."""
    starts = 0

    def progress(done: int, total: int) -> None:
        nonlocal starts
        starts += done == 0
        if starts == 2:
            raise StopAtText

    return progress


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for day in range(1, 31):
        write_page(root, f"/2026/11/{day:02}/river.gmi", f"# River report {day}\nThe river rose.\n")
    return root


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "state" / "index.sqlite3"


def test_lists_are_complete_before_the_text_is_indexed(root: Path, database: Path) -> None:
    catalog = Catalog(root, database)
    with pytest.raises(StopAtText):
        catalog.refresh(progress=stop_at_text())
    assert len(catalog.articles) == 30
    results = catalog.search("river")
    assert (results.total, results.unindexed, results.pages) == (0, 30, 30)


def test_indexing_the_text_resumes_where_it_stopped(root: Path, database: Path) -> None:
    catalog = Catalog(root, database)
    with pytest.raises(StopAtText):
        catalog.refresh(progress=stop_at_text())
    catalog.refresh()
    results = catalog.search("river")
    assert (results.total, results.unindexed) == (30, 0)


def test_a_search_page_says_it_is_still_indexing() -> None:
    results = searching.SearchResults(unindexed=12_000, pages=32_000)
    page = results_page("river", SearchPage(), results, 20)
    assert "Still indexing: 20,000 of 32,000 pages searchable so far" in page


def test_a_title_past_the_head_of_a_page_is_found_with_its_text(root: Path, database: Path) -> None:
    filler = "A line of filler text.\n" * 1000
    write_page(root, "/2026/12/01/late.gmi", f"{filler}# Late heading\n")
    catalog = Catalog(root, database)
    catalog.refresh()
    assert catalog.articles[0].title == "Late heading"


def test_the_catalog_keeps_no_copy_of_the_text(root: Path, database: Path) -> None:
    write_page(root, "/about.gmi", "# About\nUnmistakablewordforthistest appears once.\n")
    catalog = Catalog(root, database)
    catalog.refresh()
    catalog.close()
    stored = b"".join(path.read_bytes() for path in database.parent.iterdir())
    assert b"Unmistakablewordforthistest" not in stored
    assert [
        hit.path for hit in Catalog(root, database).search("unmistakablewordforthistest").hits
    ] == ["/about.gmi"]


def test_an_edited_page_is_found_by_its_new_words_only(root: Path, database: Path) -> None:
    catalog = Catalog(root, database)
    catalog.refresh()
    write_page(root, "/2026/11/05/river.gmi", "# Lake report\nThe lake froze.\n")
    catalog.refresh()
    assert [hit.path for hit in catalog.search("lake").hits] == ["/2026/11/05/river.gmi"]
    assert catalog.search("river").total == 29


def test_stale_rows_past_the_bound_have_the_text_indexed_again(
    root: Path, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_STALE_FLOOR", 0)
    catalog = Catalog(root, database)
    catalog.refresh()
    for day in range(1, 31):
        write_page(root, f"/2026/11/{day:02}/river.gmi", f"# Lake report {day}\nThe lake.\n")
    catalog.refresh()
    for day in range(1, 3):
        write_page(root, f"/2026/11/{day:02}/river.gmi", f"# Sea report {day}\nThe sea.\n")
    catalog.refresh()
    assert (catalog.search("lake").total, catalog.search("sea").total) == (28, 2)
    assert catalog.search("river").total == 0


def test_many_matches_are_counted_up_to_a_bound_and_ranked_among_the_newest(
    root: Path, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(searching, "COUNTED", 10)
    monkeypatch.setattr(searching, "RANKED", 20)
    catalog = Catalog(root, database)
    catalog.refresh()
    results = catalog.search("river", limit=5, offset=5)
    assert (results.total, results.more, len(results.hits)) == (10, True, 5)
    newest = catalog.search("river", limit=20, newest=True)
    assert [hit.title for hit in newest.hits][:2] == ["River report 30", "River report 29"]
    assert {hit.title for hit in newest.hits} == {f"River report {day}" for day in range(11, 31)}


def test_a_snippet_is_made_from_the_file_around_the_word(root: Path, database: Path) -> None:
    write_page(root, "/about.gmi", "# About\nFirst line.\nThe harbour café opens.\n")
    catalog = Catalog(root, database)
    catalog.refresh()
    (hit,) = catalog.search("cafe").hits
    assert hit.snippet == "First line.\nThe harbour café opens."


def test_the_lists_read_from_heads_say_what_the_full_text_says(tmp_path: Path) -> None:
    root = tmp_path / "root"
    pages = {
        "/2026/11/01/block.gmi": "```\n# Not a title\n```\n# Real title\nThe first prose.\n",
        "/2026/11/02/front.gmi": (
            "Published: 2026-11-02T08:30:00Z\nSeries: Rivers\nSummary: From the front.\n\n"
            "# Fronted\nProse.\n"
        ),
        "/2026/11/03/line.gmi": "# Lined\n2026-11-03 dateline\nSummary: From a text line.\n",
        "/2026/11/04/untitled.gmi": "By A. Writer\nJust prose, no heading.\n",
        "/2026/11/05/late.gmi": "A line of filler text.\n" * 100 + "# Late heading\n",
    }
    for path, text in pages.items():
        write_page(root, path, text)
    def clock() -> datetime:
        return datetime(2026, 11, 3, 12, tzinfo=UTC)

    listed = Catalog(root, tmp_path / "listed.sqlite3", clock=clock)
    with pytest.raises(StopAtText):
        listed.refresh(progress=stop_at_text())
    indexed = Catalog(root, tmp_path / "indexed.sqlite3", clock=clock)
    indexed.refresh()
    late = "/2026/11/05/late.gmi"
    assert [a for a in listed.articles if a.path != late] == [
        a for a in indexed.articles if a.path != late
    ]
    assert {a.path: a.title for a in indexed.articles}[late] == "Late heading"


@pytest.fixture
def crowded(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The river pages with more matches than COUNTED: some with the word in the title."""
    monkeypatch.setattr(searching, "COUNTED", 10)
    monkeypatch.setattr(searching, "RANKED", 20)
    for day in range(1, 31):
        title = "Flood on the river" if day % 10 == 5 else f"Lake report {day}"
        write_page(root, f"/2026/11/{day:02}/river.gmi", f"# {title}\nThe river rose.\n")
    return root


def test_past_the_bound_title_matches_come_first_then_newest_first(
    crowded: Path, database: Path
) -> None:
    catalog = Catalog(crowded, database)
    catalog.refresh()
    hits = catalog.search("river", limit=5).hits
    assert [hit.path for hit in hits] == [
        "/2026/11/25/river.gmi", "/2026/11/15/river.gmi", "/2026/11/30/river.gmi",
        "/2026/11/29/river.gmi", "/2026/11/28/river.gmi",
    ]


def test_past_the_bound_a_title_match_older_than_the_ranked_newest_waits(
    crowded: Path, database: Path
) -> None:
    catalog = Catalog(crowded, database)
    catalog.refresh()
    paths = [hit.path for hit in catalog.search("river", limit=20).hits]
    assert "/2026/11/05/river.gmi" not in paths
    assert paths.index("/2026/11/15/river.gmi") == 1


@pytest.mark.parametrize("bound", [10, 1000])
def test_hidden_pages_leave_their_places_to_others(
    crowded: Path, database: Path, monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    monkeypatch.setattr(searching, "COUNTED", bound)
    catalog = Catalog(crowded, database)
    catalog.refresh()
    hidden = frozenset({"/2026/11/25/river.gmi", "/2026/11/30/river.gmi"})
    hits = catalog.search("river", limit=30, hidden=hidden).hits
    assert len(hits) == (18 if bound == 10 else 28)
    assert not hidden & {hit.path for hit in hits}


def test_equal_matches_are_newest_first(root: Path, database: Path) -> None:
    catalog = Catalog(root, database)
    catalog.refresh()
    hits = catalog.search("river", limit=3).hits
    assert [hit.path for hit in hits] == [
        "/2026/11/30/river.gmi", "/2026/11/29/river.gmi", "/2026/11/28/river.gmi"
    ]


def test_an_edited_page_past_the_bound_is_found_once(crowded: Path, database: Path) -> None:
    catalog = Catalog(crowded, database)
    catalog.refresh()
    write_page(crowded, "/2026/11/30/river.gmi", "# River again\nThe river rose again.\n")
    catalog.refresh()
    paths = [hit.path for hit in catalog.search("river", limit=30).hits]
    assert paths.count("/2026/11/30/river.gmi") == 1
    assert paths[0] == "/2026/11/30/river.gmi"


@pytest.mark.parametrize(
    ("offset", "days"), [(0, [25, 15, 30]), (1, [15, 30, 29]), (2, [30, 29, 28]), (4, [28, 27, 26])]
)
def test_past_the_bound_pages_run_on_from_title_matches_to_the_others(
    crowded: Path, database: Path, offset: int, days: list[int]
) -> None:
    catalog = Catalog(crowded, database)
    catalog.refresh()
    hits = catalog.search("river", limit=3, offset=offset).hits
    assert [hit.path for hit in hits] == [f"/2026/11/{day:02}/river.gmi" for day in days]


def test_past_the_bound_a_hidden_title_match_leaves_its_place(
    crowded: Path, database: Path
) -> None:
    catalog = Catalog(crowded, database)
    catalog.refresh()
    hits = catalog.search("river", limit=3, hidden=frozenset({"/2026/11/25/river.gmi"})).hits
    assert [hit.path for hit in hits] == [
        "/2026/11/15/river.gmi", "/2026/11/30/river.gmi", "/2026/11/29/river.gmi"
    ]
