"""Generated pages: archive, gemfeed, Atom feed, search and recent-article lists."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest

from capsule.catalog.store import Catalog
from capsule.publication.atom import ATOM_NAMESPACE, render_atom
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import Feed, InputPrompt, NotFound, Page, Redirect
from capsule.root import Capsule
from gemtext import feed_entries, parse
from tests.harness import write_page

ATOM = f"{{{ATOM_NAMESPACE}}}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(
        root, "/index.gmi", "# Daily news\n\n## Latest\n{{recent 2}}\n\n=> /about.gmi About\n"
    )
    write_page(root, "/about.gmi", "# About\n")
    write_page(root, "/2025/12/31/old.gmi", "# Old year's eve <b>&</b>\n")
    write_page(root, "/2026/11/20/first.gmi", "# First\nText about gardens.\n")
    write_page(root, "/2026/11/22/second.gmi", "# Second\nMore about gardens and bees.\n")
    write_page(root, "/2026-10-01-october.gmi", "# October piece\n")
    return root


def make_capsule(root: Path, tmp_path: Path, **settings: int | str) -> Capsule:
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    publication = Publication(catalog, PublicationSettings("Daily news", **settings), "en")
    return Capsule(root, "en", publication)


@pytest.fixture
def capsule(root: Path, tmp_path: Path) -> Capsule:
    return make_capsule(root, tmp_path)


def page_text(capsule: Capsule, path: str, query: str | None = None) -> str:
    resource = capsule.resolve(path, query)
    assert isinstance(resource, Page), resource
    return resource.gemtext


def test_recent_marker_lists_the_newest_articles(capsule: Capsule) -> None:
    text = page_text(capsule, "/")
    assert "{{" not in text
    assert (
        "=> /2026/11/22/second.gmi 2026-11-22 Second\n=> /2026/11/20/first.gmi 2026-11-20 First"
        in text
    )
    assert "October" not in text


def test_archive_lists_months_by_year_with_counts(capsule: Capsule) -> None:
    text = page_text(capsule, "/archive/")
    assert text.index("## 2026") < text.index("## 2025")
    assert "=> /archive/2026/11/ November 2026 (2 articles)" in text
    assert "=> /archive/2026/10/ October 2026 (1 article)" in text
    assert "=> /archive/2025/12/ December 2025 (1 article)" in text


def test_month_page_is_a_gemfeed_of_that_month(capsule: Capsule) -> None:
    entries = feed_entries(parse(page_text(capsule, "/archive/2026/11/")))
    assert [(entry.date, entry.url) for entry in entries] == [
        (date(2026, 11, 22), "/2026/11/22/second.gmi"),
        (date(2026, 11, 20), "/2026/11/20/first.gmi"),
    ]


def test_year_page_lists_its_months(capsule: Capsule) -> None:
    text = page_text(capsule, "/archive/2026/")
    assert text.index("=> /archive/2026/11/ November 2026") < text.index("=> /archive/2026/10/")


@pytest.mark.parametrize("path", ["/archive/2026/12/", "/archive/1999/", "/archive/2026/1/"])
def test_empty_or_malformed_archive_paths_are_not_found(capsule: Capsule, path: str) -> None:
    assert isinstance(capsule.resolve(path), NotFound)


@pytest.mark.parametrize("path", ["/archive", "/archive/2026", "/archive/2026/11"])
def test_archive_paths_without_slash_redirect_like_directories(capsule: Capsule, path: str) -> None:
    assert capsule.resolve(path) == Redirect(path + "/", permanent=True)


def test_archive_month_without_articles_has_no_redirect(capsule: Capsule) -> None:
    assert isinstance(capsule.resolve("/archive/2026/12"), NotFound)


def test_gemfeed_follows_the_subscription_convention(capsule: Capsule) -> None:
    document = parse(page_text(capsule, "/feed.gmi"))
    # The first "# " heading is the feed's title, a "## " heading right under it its subtitle.
    assert document.lines[:2] == parse("# Daily news\n## Latest articles").lines
    entries = feed_entries(document)
    assert [entry.title for entry in entries] == [
        "Second",
        "First",
        "October piece",
        "Old year's eve <b>&</b>",
    ]


def test_feed_subtitle_is_configured_on_one_line(root: Path, tmp_path: Path) -> None:
    capsule = make_capsule(root, tmp_path, subtitle="News from the\ngarden ")
    assert page_text(capsule, "/feed.gmi").startswith("# Daily news\n## News from the garden\n\n")


def test_empty_feed_subtitle_leaves_the_title_alone(root: Path, tmp_path: Path) -> None:
    capsule = make_capsule(root, tmp_path, subtitle="")
    assert page_text(capsule, "/feed.gmi").startswith("# Daily news\n\n=> ")


def test_feed_size_caps_the_gemfeed(root: Path, tmp_path: Path) -> None:
    capsule = make_capsule(root, tmp_path, feed_size=1)
    assert len(feed_entries(parse(page_text(capsule, "/feed.gmi")))) == 1


def test_search_without_query_prompts_for_input(capsule: Capsule) -> None:
    assert capsule.resolve("/search") == InputPrompt("Search this capsule")
    assert capsule.resolve("/search", "   ") == InputPrompt("Search this capsule")


def test_search_with_query_lists_matching_pages_with_snippets(capsule: Capsule) -> None:
    text = page_text(capsule, "/search", "bees")
    assert "=> /2026/11/22/second.gmi 2026-11-22 Second" in text
    assert "bees" in text.split("=> /2026/11/22/second.gmi 2026-11-22 Second", 1)[1]
    assert "first.gmi" not in text


def test_search_with_no_match_says_so(capsule: Capsule) -> None:
    assert "No pages match" in page_text(capsule, "/search", "zebra")


def test_search_query_cannot_inject_gemtext_lines(capsule: Capsule) -> None:
    text = page_text(capsule, "/search", "x\n=> javascript:alert(1) click")
    assert "\n=> javascript" not in text


@pytest.mark.parametrize("control", ["\x1b[2J", "\x07", "\x00", "\x9b", "\x7f"])
def test_search_query_shows_no_control_characters(capsule: Capsule, control: str) -> None:
    heading = page_text(capsule, "/search", f"a{control}b").splitlines()[0]
    assert heading.isprintable()
    assert heading.startswith("# Search: a") and heading.endswith("b")


def test_files_on_disk_win_over_generated_paths(root: Path, tmp_path: Path) -> None:
    write_page(root, "/feed.gmi", "# My own feed page\n")
    capsule = make_capsule(root, tmp_path)
    assert page_text(capsule, "/feed.gmi") == "# My own feed page\n"


def test_recent_articles_under_every_article_when_configured(root: Path, tmp_path: Path) -> None:
    capsule = make_capsule(root, tmp_path, recent_under_articles=2)
    text = page_text(capsule, "/2026/11/20/first.gmi")
    tail = text.split("## More articles\n", 1)[1]
    assert "/2026/11/22/second.gmi" in tail and "first.gmi" not in tail
    assert "## More articles" not in page_text(capsule, "/about.gmi")


def test_atom_feed_is_valid_atom_with_absolute_urls(capsule: Capsule) -> None:
    feed = capsule.resolve("/atom.xml")
    assert isinstance(feed, Feed)
    xml = render_atom(feed, "gemini://news.example/")
    root = ElementTree.fromstring(xml)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 4
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{required}") is not None, required
    first = entries[0]
    assert first.findtext(f"{ATOM}title") == "Second"
    assert first.findtext(f"{ATOM}updated") == "2026-11-22T00:00:00Z"
    link = first.find(f"{ATOM}link")
    assert link is not None and link.get("href") == "gemini://news.example/2026/11/22/second.gmi"
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == "gemini://news.example/atom.xml"


def test_atom_feed_carries_the_subtitle_of_the_gemfeed(root: Path, tmp_path: Path) -> None:
    feed = make_capsule(root, tmp_path, subtitle="Bees & <roses>").resolve("/atom.xml")
    assert isinstance(feed, Feed)
    root_element = ElementTree.fromstring(render_atom(feed, "https://news.example/"))
    assert root_element.findtext(f"{ATOM}subtitle") == "Bees & <roses>"


def test_atom_feed_escapes_markup_in_titles(capsule: Capsule) -> None:
    feed = capsule.resolve("/atom.xml")
    assert isinstance(feed, Feed)
    xml = render_atom(feed, "https://news.example/")
    assert b"<b>" not in xml
    titles = [e.findtext(f"{ATOM}title") for e in ElementTree.fromstring(xml).iter(f"{ATOM}entry")]
    assert "Old year's eve <b>&</b>" in titles


def test_atom_feed_maps_paths_for_the_mirror(capsule: Capsule) -> None:
    feed = capsule.resolve("/atom.xml")
    assert isinstance(feed, Feed)
    xml = render_atom(feed, "https://news.example/", lambda path: path.replace(".gmi", ".html"))
    assert b'href="https://news.example/2026/11/22/second.html"' in xml


def test_recent_markers_vanish_without_a_catalog(root: Path) -> None:
    text = page_text(Capsule(root, "en"), "/")
    assert "{{" not in text and "=> /about.gmi About" in text


def test_search_snippets_leave_out_the_title_and_markers(capsule: Capsule) -> None:
    text = page_text(capsule, "/search", "daily")
    assert "{{" not in text
    assert "> Daily news" not in text


@pytest.mark.parametrize(
    ("index", "expected"), [("# Daily news\n", "Daily news"), ("No heading here.\n", "Articles")]
)
def test_feed_title_is_the_index_heading_else_articles(
    tmp_path: Path, index: str, expected: str
) -> None:
    root = tmp_path / "plain"
    write_page(root, "/index.gmi", index)
    catalog = Catalog(root, tmp_path / "plain.sqlite3")
    catalog.refresh()
    assert Publication(catalog, PublicationSettings(), None).title == expected


def test_recent_marker_keeps_the_blank_line_after_it(tmp_path: Path) -> None:
    root = tmp_path / "keep"
    write_page(root, "/index.gmi", "# Home\n{{recent 1}}\n\n## Next section\n")
    write_page(root, "/2026/11/20/first.gmi", "# First\n")
    catalog = Catalog(root, tmp_path / "keep.sqlite3")
    catalog.refresh()
    capsule = Capsule(root, None, Publication(catalog, PublicationSettings(), None))
    assert page_text(capsule, "/") == (
        "# Home\n=> /2026/11/20/first.gmi 2026-11-20 First\n\n## Next section\n"
    )


@pytest.mark.parametrize("path", ["/", "/2026/11/20/first.gmi"])
def test_a_page_from_disk_carries_when_its_file_was_written(
    capsule: Capsule, root: Path, path: str
) -> None:
    resource = capsule.resolve(path)
    source = root / (path.lstrip("/") or "index.gmi")
    assert isinstance(resource, Page) and resource.modified == source.stat().st_mtime


@pytest.mark.parametrize("path", ["/archive/", "/feed.gmi"])
def test_a_generated_page_has_no_file_time(capsule: Capsule, path: str) -> None:
    resource = capsule.resolve(path)
    assert isinstance(resource, Page) and resource.modified is None


def test_a_page_carries_its_file_time_without_a_catalog_too(root: Path) -> None:
    resource = Capsule(root, "en").resolve("/about.gmi")
    assert isinstance(resource, Page)
    assert resource.modified == (root / "about.gmi").stat().st_mtime
