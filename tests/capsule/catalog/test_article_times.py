"""Publication and update times: first sight recorded in the catalog, edits told from copies."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from capsule.catalog.store import SCHEMA_VERSION, Catalog
from tests.harness import write_page

NOON = datetime(2025, 3, 5, 12, 27, 4, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def times(catalog: Catalog) -> dict[str, tuple[datetime, datetime | None]]:
    return {article.path: (article.moment, article.updated) for article in catalog.articles}


def test_an_article_first_seen_on_its_date_is_published_at_that_time(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_page(root, "/2025/03/05/breaking.gmi", "# Breaking\n")
    catalog = Catalog(root, tmp_path / "db", clock=Clock(NOON))
    catalog.refresh()
    assert times(catalog) == {"/2025/03/05/breaking.gmi": (NOON.replace(microsecond=0), None)}


def test_an_imported_or_early_article_is_published_at_the_start_of_its_date(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    write_page(root, "/2025/03/04/imported.gmi", "# Imported\n")
    write_page(root, "/2025/03/06/ahead.gmi", "# Written ahead\n")
    catalog = Catalog(root, tmp_path / "db", clock=Clock(NOON))
    catalog.refresh()
    assert times(catalog) == {
        "/2025/03/06/ahead.gmi": (datetime(2025, 3, 6, tzinfo=UTC), None),
        "/2025/03/04/imported.gmi": (datetime(2025, 3, 4, tzinfo=UTC), None),
    }


def test_a_published_front_line_gives_the_time(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_page(root, "/2025/03/05/a.gmi", "Published: 2025-03-05T08:15:00Z\n\n# A\n")
    catalog = Catalog(root, tmp_path / "db", clock=Clock(NOON))
    catalog.refresh()
    assert catalog.articles[0].moment == datetime(2025, 3, 5, 8, 15, tzinfo=UTC)


def test_articles_of_one_day_are_newest_first_not_alphabetical(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_page(root, "/2025/03/05/zoning.gmi", "# Zoning\n")
    clock = Clock(datetime(2025, 3, 5, 9, 0, tzinfo=UTC))
    catalog = Catalog(root, tmp_path / "db", clock=clock)
    catalog.refresh()
    clock.now = NOON
    write_page(root, "/2025/03/05/alarm.gmi", "# Alarm\n")
    catalog.refresh()
    assert [a.path for a in catalog.articles] == [
        "/2025/03/05/alarm.gmi", "/2025/03/05/zoning.gmi"
    ]


def test_a_copied_file_is_not_modified_and_an_edit_is(tmp_path: Path) -> None:
    root = tmp_path / "root"
    page = write_page(root, "/2025/03/05/a.gmi", "# A\nFirst words.\n")
    clock = Clock(NOON)
    catalog = Catalog(root, tmp_path / "db", clock=clock)
    catalog.refresh()
    clock.now = datetime(2025, 3, 6, 9, 0, tzinfo=UTC)
    os.utime(page, (1_900_000_000, 1_900_000_000))
    catalog.refresh()
    assert catalog.articles[0].updated is None
    clock.now = datetime(2025, 3, 7, 9, 0, tzinfo=UTC)
    page.write_text("# A\nCorrected words.\n")
    os.utime(page, (1_900_000_100, 1_900_000_100))
    catalog.refresh()
    article = catalog.articles[0]
    assert (article.moment, article.updated) == (NOON.replace(microsecond=0), clock.now)


def test_first_sight_survives_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_page(root, "/2025/03/05/a.gmi", "# A\n")
    Catalog(root, tmp_path / "db", clock=Clock(NOON)).refresh()
    later = Catalog(root, tmp_path / "db", clock=Clock(datetime(2025, 3, 5, 23, tzinfo=UTC)))
    later.refresh(full=True)
    assert later.articles[0].moment == NOON.replace(microsecond=0)


def test_a_catalog_of_an_older_schema_is_indexed_again_by_itself(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_page(root, "/2025/03/05/a.gmi", "# A\nSummary: What happened.\n")
    database = tmp_path / "db"
    with sqlite3.connect(database) as old:
        old.execute("CREATE TABLE pages (id INTEGER PRIMARY KEY, path TEXT)")
        old.execute("PRAGMA user_version = 5")
    catalog = Catalog(root, database)
    catalog.refresh()
    assert catalog.articles[0].summary == "What happened."
    with sqlite3.connect(database) as reopened:
        assert reopened.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
