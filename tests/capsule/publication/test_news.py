"""A news site's lists: summaries, series, neighbours, an archive by day, paged search, Atom
times."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from capsule.catalog.store import Catalog
from capsule.publication.atom import ATOM_NAMESPACE, render_atom
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import Feed, NotFound, Page
from capsule.root import Capsule
from tests.harness import write_page

ATOM = f"{{{ATOM_NAMESPACE}}}"


def part(number: int, hour: int, status: str = "published") -> str:
    return (
        f"Status: {status}\nPublished: 2025-03-0{number}T{hour:02d}:00:00Z\n"
        f"Series: Cities after the flood\n\n# Part {number}\n{{{{series}}}}\n"
        f"Summary: Part {number} of the series.\n"
    )


@pytest.fixture
def capsule(tmp_path: Path) -> Capsule:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# The Daily\n\n{{recent 3 summaries}}\n")
    write_page(root, "/2025/03/05/zoning.gmi",
               "Published: 2025-03-05T09:00:00Z\n\n# Zoning board meets\nBy Ann Lee\n"
               "2025-03-05 09:00\nThe agenda:\n\nThe board will vote on the harbour plan.\n")
    write_page(root, "/2025/03/05/alarm.gmi",
               "Published: 2025-03-05T12:27:00Z\n\n# Flood alarm\n"
               "Summary: The river rose two metres overnight.\n\nThe climate desk reports.\n"
               "{{neighbours}}\n")
    write_page(root, "/2025/03/05/links.gmi",
               "Published: 2025-03-05T18:00:00Z\nSummary: Today's links.\n\n# Links\n")
    write_page(root, "/2025/03/01/cities-1.gmi", part(1, 8))
    write_page(root, "/2025/03/02/cities-2.gmi", part(2, 8, status="draft"))
    write_page(root, "/2025/03/03/cities-3.gmi", part(3, 8))
    for number in range(25):
        write_page(root, f"/2024/06/{number + 1:02d}/river.gmi",
                   f"# River report {number}\nThe river level, day {number}.\n")
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    publication = Publication(catalog, PublicationSettings("The Daily", search_results=10), None)
    return Capsule(root, None, publication)


def text(capsule: Capsule, path: str, query: str | None = None) -> str:
    resource = capsule.resolve(path, query)
    assert isinstance(resource, Page), (path, resource)
    return resource.gemtext


def test_recent_summaries_put_each_summary_under_its_link(capsule: Capsule) -> None:
    assert text(capsule, "/") == (
        "# The Daily\n\n"
        "=> /2025/03/05/links.gmi 2025-03-05 Links\nToday's links.\n\n"
        "=> /2025/03/05/alarm.gmi 2025-03-05 Flood alarm\n"
        "The river rose two metres overnight.\n\n"
        "=> /2025/03/05/zoning.gmi 2025-03-05 Zoning board meets\n"
        "The board will vote on the harbour plan.\n"
    )


def test_without_a_summary_line_the_summary_skips_bylines_dates_and_lead_ins(
    capsule: Capsule,
) -> None:
    assert capsule.publication is not None
    zoning = next(a for a in capsule.publication.articles() if "zoning" in a.path)
    assert zoning.summary == "The board will vote on the harbour plan."


def test_series_lists_its_listed_parts_in_order_with_you_are_here(capsule: Capsule) -> None:
    page = text(capsule, "/2025/03/03/cities-3.gmi")
    assert (
        "## Cities after the flood: part 2 of 2\n"
        "=> /2025/03/01/cities-1.gmi 1. Part 1\n"
        "2. Part 3 (you are here)\n"
        "=> /series/cities-after-the-flood/ The whole series\n"
    ) in page
    assert "cities-2" not in page
    series = text(capsule, "/series/cities-after-the-flood/")
    assert series.index("cities-1.gmi") < series.index("cities-3.gmi")
    assert "cities-2" not in series and "Part 3 of the series." in series


def test_neighbours_are_the_articles_published_just_before_and_after(capsule: Capsule) -> None:
    page = text(capsule, "/2025/03/05/alarm.gmi")
    assert "=> /2025/03/05/zoning.gmi Previous: Zoning board meets\n" in page
    assert "=> /2025/03/05/links.gmi Next: Links" in page
    resource = capsule.resolve("/2025/03/05/alarm.gmi")
    assert isinstance(resource, Page) and resource.article is not None
    assert resource.article.previous is not None
    assert resource.article.previous.path == "/2025/03/05/zoning.gmi"


def test_a_hidden_article_is_nobodys_neighbour(capsule: Capsule) -> None:
    resource = capsule.resolve("/2025/03/03/cities-3.gmi")
    assert isinstance(resource, Page) and resource.article is not None
    assert resource.article.previous is not None
    assert resource.article.previous.path == "/2025/03/01/cities-1.gmi"


def test_archive_links_years_and_a_year_lists_its_months(capsule: Capsule) -> None:
    archive = text(capsule, "/archive/")
    assert "=> /archive/2025/ 2025: 5 articles" in archive
    assert "=> /archive/2024/ 2024: 25 articles" in archive
    year = text(capsule, "/archive/2024/")
    assert "=> /archive/2024/06/ June 2024 (25 articles)" in year
    assert "river.gmi" not in year


def test_a_month_lists_its_days_and_a_day_its_articles(capsule: Capsule) -> None:
    month = text(capsule, "/archive/2025/03/")
    assert month.index("## Wednesday 5 March 2025") < month.index("## Monday 3 March 2025")
    day = text(capsule, "/archive/2025/03/05/")
    assert day.index("links.gmi") < day.index("alarm.gmi") < day.index("zoning.gmi")
    assert "The river rose two metres overnight." in day


def test_a_date_directory_lists_its_articles(capsule: Capsule) -> None:
    listing = text(capsule, "/2025/03/05/")
    assert "=> /2025/03/05/alarm.gmi 2025-03-05 Flood alarm" in listing
    assert "=> /archive/2025/03/05/ Everything published that day" in listing


def test_search_is_paged_counted_and_can_be_newest_first(capsule: Capsule) -> None:
    first = text(capsule, "/search", "river")
    assert "26 pages match, best matches first; page 1 of 3." in first
    assert first.count("River report") == 10
    assert "=> /search/2?river Next page (2 of 3)" in first
    assert "=> /search/newest?river Show newest first" in first
    last = text(capsule, "/search/3", "river")
    assert last.count("River report") + last.count("Flood alarm") == 6
    assert "=> /search/2?river Previous page (2 of 3)" in last and "Next page" not in last
    newest = text(capsule, "/search/newest", "river")
    assert newest.index("Flood alarm") < newest.index("River report 24") < newest.index(
        "River report 23"
    )
    assert "=> /2025/03/05/alarm.gmi 2025-03-05 Flood alarm\n" in newest


def test_search_snippets_keep_their_lines(capsule: Capsule) -> None:
    found = text(capsule, "/search", "climate")
    assert "> The climate desk reports." in found
    assert "overnight. The climate" not in found


def test_atom_entries_carry_real_times_and_summaries(capsule: Capsule) -> None:
    feed = capsule.resolve("/atom.xml")
    assert isinstance(feed, Feed)
    root = ElementTree.fromstring(render_atom(feed, "gemini://news.example"))
    entry = root.findall(f"{ATOM}entry")[1]
    assert entry.findtext(f"{ATOM}title") == "Flood alarm"
    assert entry.findtext(f"{ATOM}published") == "2025-03-05T12:27:00Z"
    assert entry.findtext(f"{ATOM}updated") == "2025-03-05T12:27:00Z"
    assert entry.findtext(f"{ATOM}summary") == "The river rose two metres overnight."


def test_meta_series_puts_articles_in_a_series_their_front_lines_may_override(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    write_page(root, "/bridge/.meta", "*.gmi series=Bridge_watch\n")
    write_page(root, "/bridge/2026-01-01-start.gmi", "# Works begin\n{{series}}\n")
    write_page(root, "/bridge/2026-01-02-piles.gmi", "# Piles driven\n")
    write_page(root, "/bridge/2026-01-03-aside.gmi", "Series: Harbour notes\n\n# An aside\n")
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    capsule = Capsule(root, None, Publication(catalog, PublicationSettings("News"), None))
    assert text(capsule, "/bridge/2026-01-01-start.gmi").endswith(
        "## Bridge watch: part 1 of 2\n"
        "1. Works begin (you are here)\n"
        "=> /bridge/2026-01-02-piles.gmi 2. Piles driven\n"
        "=> /series/bridge-watch/ The whole series\n"
    )
    series = text(capsule, "/series/bridge-watch/")
    assert "Piles driven" in series and "An aside" not in series
    assert "An aside" in text(capsule, "/series/harbour-notes/")


def test_a_search_page_past_the_last_is_not_found(capsule: Capsule) -> None:
    assert "page 1 of 1" in text(capsule, "/search", "harbour")
    assert capsule.resolve("/search/2", "harbour") == NotFound()
    assert capsule.resolve("/search/newest/7", "harbour") == NotFound()
