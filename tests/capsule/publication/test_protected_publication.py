"""Protected pages stay out of everything generated: archive, feeds, recent lists and search."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capsule.catalog.store import Catalog, Changes
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import CertificateRequired, Feed, NotFound, Page
from capsule.root import Capsule
from tests.capsule.rules.test_meta import rewrite
from tests.harness import write_page

SECRET_WORDS = ("zeppelin", "Secret plans", "/members/")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Daily news\n\n{{recent}}\n")
    write_page(root, "/2026/11/20/gardens.gmi", "# Gardens\nAbout gardens and tea.\n")
    write_page(root, "/2026/11/22/bees.gmi", "# Bees\nBees in the gardens.\n")
    write_page(root, "/members/2026/11/23/plans.gmi",
               "# Secret plans\nThe zeppelin lands in the gardens at dawn.\n")
    write_page(root, "/members/2026/10/02/october.gmi", "# October minutes\nZeppelin budget.\n")
    write_page(root, "/2026/11/24/draft.gmi", "# Draft about gardens\nA zeppelin draft.\n")
    write_page(root, "/.meta", "members/ protect=any\n2026/11/24/draft.gmi protect=any\n")
    return root


def publish(root: Path, tmp_path: Path, **settings: int) -> tuple[Capsule, Catalog]:
    catalog = Catalog(root, tmp_path / "state" / "index.sqlite3")
    catalog.refresh()
    publication = Publication(catalog, PublicationSettings("Daily news", **settings), None)
    return Capsule(root, publication=publication), catalog


@pytest.fixture
def capsule(root: Path, tmp_path: Path) -> Capsule:
    return publish(root, tmp_path)[0]


def text(capsule: Capsule, path: str, query: str | None = None) -> str:
    resource = capsule.resolve(path, query)
    assert isinstance(resource, Page), (path, resource)
    return resource.gemtext


def assert_public(gemtext: str) -> None:
    for word in (*SECRET_WORDS, "draft", "October"):
        assert word.lower() not in gemtext.lower(), (word, gemtext)


def test_the_archive_counts_and_lists_only_public_articles(capsule: Capsule) -> None:
    archive = text(capsule, "/archive/")
    assert "November 2026 (2 articles)" in archive
    assert_public(archive)
    assert_public(text(capsule, "/archive/2026/11/"))
    assert_public(text(capsule, "/archive/2026/"))


def test_a_month_of_protected_articles_only_has_no_archive_page(capsule: Capsule) -> None:
    assert capsule.resolve("/archive/2026/10/") == NotFound()


def test_the_gemfeed_and_the_atom_feed_leave_protected_articles_out(capsule: Capsule) -> None:
    gemfeed = text(capsule, "/feed.gmi")
    assert "=> /2026/11/22/bees.gmi 2026-11-22 Bees" in gemfeed
    assert_public(gemfeed)
    feed = capsule.resolve("/atom.xml")
    assert isinstance(feed, Feed)
    assert [article.path for article in feed.articles] == [
        "/2026/11/22/bees.gmi", "/2026/11/20/gardens.gmi"
    ]


def test_recent_markers_and_more_articles_leave_protected_articles_out(
    root: Path, tmp_path: Path
) -> None:
    capsule, _ = publish(root, tmp_path, recent_under_articles=5)
    index = text(capsule, "/")
    assert "=> /2026/11/22/bees.gmi 2026-11-22 Bees" in index
    assert_public(index)
    under = text(capsule, "/2026/11/20/gardens.gmi")
    assert "## More articles" in under
    assert_public(under)


def test_search_shows_no_protected_page_title_or_snippet(capsule: Capsule) -> None:
    results = text(capsule, "/search", "zeppelin")
    assert "No pages match every word of this search." in results
    assert_public(results.replace("# Search: zeppelin", ""))
    gardens = text(capsule, "/search", "gardens")
    assert "=> /2026/11/22/bees.gmi 2026-11-22 Bees" in gardens
    assert_public(gardens)


def test_protected_results_leave_their_places_to_public_ones(root: Path, tmp_path: Path) -> None:
    capsule, _ = publish(root, tmp_path, search_results=2)
    results = text(capsule, "/search", "gardens")
    # two results, the other order and "New search"
    assert results.count("=> ") == 4, results
    assert "2 pages match" in results
    assert_public(results)


def test_a_protected_index_page_does_not_name_the_feeds(root: Path, tmp_path: Path) -> None:
    write_page(root, "/.meta", "index.gmi protect=any\n")
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    publication = Publication(catalog, PublicationSettings(), None)
    capsule = Capsule(root, publication=publication)
    assert capsule.resolve("/") == CertificateRequired()
    assert text(capsule, "/feed.gmi").startswith("# Articles\n")


def test_generated_pages_can_be_protected_themselves(root: Path, tmp_path: Path) -> None:
    write_page(root, "/.meta", "archive/ protect=any\nsearch protect=any\n")
    capsule, _ = publish(root, tmp_path)
    assert capsule.resolve("/archive/2026/") == CertificateRequired()
    assert capsule.resolve("/search", "gardens") == CertificateRequired()


# Following the disk


def test_protecting_an_indexed_article_hides_it_at_the_next_quick_refresh(
    root: Path, tmp_path: Path
) -> None:
    capsule, catalog = publish(root, tmp_path)
    assert "bees.gmi" in text(capsule, "/feed.gmi")
    write_page(root, "/2026/11/22/.meta", "bees.gmi protect=any\n")
    # The page itself is protected at once; the lists follow the catalog.
    assert capsule.resolve("/2026/11/22/bees.gmi") == CertificateRequired()
    assert "Bees" not in text(capsule, "/search", "bees")
    assert catalog.refresh(full=False) == Changes(meta_files=1)
    assert "bees.gmi" not in text(capsule, "/feed.gmi")
    assert "bees.gmi" not in text(capsule, "/archive/2026/11/")
    assert "bees.gmi" not in text(capsule, "/")


def test_an_in_place_edit_of_a_meta_file_counts_at_the_next_quick_refresh(
    root: Path, tmp_path: Path
) -> None:
    capsule, catalog = publish(root, tmp_path)
    # Directories left alone since long ago: a quick refresh lists none of them again.
    for directory in (root, root / "2026", root / "2026" / "11"):
        os.utime(directory, (1_000_000_000, 1_000_000_000))
    catalog.refresh(full=False)
    assert "gardens.gmi" in text(capsule, "/feed.gmi")
    rewrite(root / ".meta", "members/ protect=any\n2026/11/ protect=any\n")
    assert root.stat().st_mtime == 1_000_000_000
    assert catalog.refresh(full=False) == Changes(meta_files=1)
    assert "Nothing published yet." in text(capsule, "/archive/")


def test_lifting_a_protection_brings_the_article_back(root: Path, tmp_path: Path) -> None:
    capsule, catalog = publish(root, tmp_path)
    (root / ".meta").unlink()
    catalog.refresh(full=False)
    feed = text(capsule, "/feed.gmi")
    assert "Secret plans" in feed and "Draft about gardens" in feed


def test_new_articles_under_a_protected_directory_never_show(root: Path, tmp_path: Path) -> None:
    capsule, catalog = publish(root, tmp_path)
    write_page(root, "/members/2026/11/25/more.gmi", "# More plans\nZeppelin again.\n")
    write_page(root, "/2026/11/25/news.gmi", "# News\n")
    assert catalog.refresh(full=False) == Changes(added=2)
    feed = text(capsule, "/feed.gmi")
    assert "=> /2026/11/25/news.gmi" in feed
    assert "More plans" not in feed
    assert "More plans" not in text(capsule, "/search", "zeppelin")


def test_a_worker_following_the_index_hides_what_the_writer_saw_protected(
    root: Path, tmp_path: Path
) -> None:
    _, writer = publish(root, tmp_path)
    follower = Catalog(root, tmp_path / "state" / "index.sqlite3", writer=False)
    capsule = Capsule(root, publication=Publication(follower, PublicationSettings(), None))
    assert "bees.gmi" in text(capsule, "/feed.gmi")
    write_page(root, "/2026/11/22/.meta", "/ protect=any\n")
    writer.refresh(full=False)
    assert follower.refresh(full=False) == Changes(meta_files=1)
    assert "bees.gmi" not in text(capsule, "/feed.gmi")
