"""Withdrawn articles: what `.meta` marks gone or redirects, and what the operator's redirects
cover, leaves every list (archive, feeds, recent lists, search), and comes back when unmarked."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.catalog.store import Catalog, Changes
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import Feed, Gone, Page, Redirect
from capsule.root import Capsule
from capsule.rules.meta import MetaIndex
from capsule.rules.policy import AccessPolicy
from capsule.rules.redirects import RedirectRule
from tests.harness import write_page

GONE = "/2026/11/20/recalled.gmi"
MOVED = "/2026/11/21/moved.gmi"
LEFT = "/2026/11/22/kept.gmi"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Daily news\n\n{{recent}}\n")
    write_page(root, GONE, "# Recalled story\nA lighthouse keeper retires.\n")
    write_page(root, MOVED, "# Moved story\nThe lighthouse moves inland.\n")
    write_page(root, LEFT, "# Kept story\nThe lighthouse stays lit.\n")
    return root


def publish(
    root: Path, tmp_path: Path, redirects: tuple[RedirectRule, ...] = ()
) -> tuple[Capsule, Catalog]:
    catalog = Catalog(root, tmp_path / "state" / "index.sqlite3")
    catalog.refresh()
    access = AccessPolicy(MetaIndex(root), redirects=redirects)
    settings = PublicationSettings("Daily news", recent_under_articles=5)
    publication = Publication(catalog, settings, None, access)
    return Capsule(root, publication=publication), catalog


def text(capsule: Capsule, path: str, query: str | None = None) -> str:
    resource = capsule.resolve(path, query)
    assert isinstance(resource, Page), (path, resource)
    return resource.gemtext


def listed(capsule: Capsule) -> dict[str, str]:
    """Every list a reader sees, by name."""
    feed = capsule.resolve("/atom.xml")
    assert isinstance(feed, Feed)
    return {
        "archive": text(capsule, "/archive/2026/11/"),
        "gemfeed": text(capsule, "/feed.gmi"),
        "atom": "\n".join(article.path for article in feed.articles),
        "recent": text(capsule, "/"),
        "more articles": text(capsule, LEFT),
        "search": text(capsule, "/search", "lighthouse"),
    }


def assert_left_out(capsule: Capsule, *paths: str) -> None:
    for name, shown in listed(capsule).items():
        assert LEFT in shown or name == "more articles", (name, shown)
        for path in paths:
            assert path not in shown, (name, path, shown)


def test_gone_and_redirected_articles_leave_every_list(root: Path, tmp_path: Path) -> None:
    write_page(root, "/2026/11/.meta",
               "20/recalled.gmi gone\n21/moved.gmi redirect=/2026/11/22/kept.gmi\n")
    capsule, _ = publish(root, tmp_path)
    assert capsule.resolve(GONE) == Gone()
    assert capsule.resolve(MOVED) == Redirect(LEFT, permanent=True)
    assert_left_out(capsule, GONE, MOVED)
    assert "November 2026 (1 article)" in text(capsule, "/archive/")


def test_a_temporary_redirect_withdraws_the_article_too(root: Path, tmp_path: Path) -> None:
    write_page(root, "/2026/11/21/.meta", "moved.gmi redirect-temporary=gemini://example.org/\n")
    capsule, _ = publish(root, tmp_path)
    assert_left_out(capsule, MOVED)


def test_a_withdrawn_subtree_leaves_every_list(root: Path, tmp_path: Path) -> None:
    write_page(root, "/.meta", "2026/11/2[01]/* gone\n")
    capsule, _ = publish(root, tmp_path)
    assert_left_out(capsule, GONE, MOVED)


def test_operator_redirects_over_an_article_withdraw_it(root: Path, tmp_path: Path) -> None:
    redirects = (
        RedirectRule(GONE, "/2026/11/22/kept.gmi"),
        RedirectRule("/2026/11/21/*", "/archive/*", permanent=False),
    )
    capsule, _ = publish(root, tmp_path, redirects)
    assert capsule.resolve(GONE) == Redirect(LEFT, permanent=True)
    assert_left_out(capsule, GONE, MOVED)


def test_marking_an_article_gone_withdraws_it_at_the_next_quick_refresh(
    root: Path, tmp_path: Path
) -> None:
    capsule, catalog = publish(root, tmp_path)
    assert GONE in text(capsule, "/feed.gmi")
    write_page(root, "/2026/11/20/.meta", "recalled.gmi gone\n")
    assert capsule.resolve(GONE) == Gone()
    # Search checks each result against the `.meta` files at once; lists follow the catalog.
    assert GONE not in text(capsule, "/search", "lighthouse")
    assert catalog.refresh(full=False) == Changes(meta_files=1)
    assert_left_out(capsule, GONE)


def test_removing_the_marking_brings_the_article_back(root: Path, tmp_path: Path) -> None:
    write_page(root, "/2026/11/20/.meta", "recalled.gmi gone\n")
    capsule, catalog = publish(root, tmp_path)
    assert_left_out(capsule, GONE)
    (root / "2026" / "11" / "20" / ".meta").unlink()
    assert catalog.refresh(full=False) == Changes(meta_files=1)
    for name, shown in listed(capsule).items():
        assert GONE in shown or name == "more articles", (name, shown)


def test_a_new_article_under_a_withdrawn_pattern_never_shows(root: Path, tmp_path: Path) -> None:
    write_page(root, "/.meta", "2026/11/23/* gone\n")
    capsule, catalog = publish(root, tmp_path)
    write_page(root, "/2026/11/23/late.gmi", "# Late story\nThe lighthouse again.\n")
    assert catalog.refresh(full=False) == Changes(added=1)
    assert_left_out(capsule, "/2026/11/23/late.gmi")


def test_a_gone_page_that_is_no_article_leaves_search(root: Path, tmp_path: Path) -> None:
    write_page(root, "/about.gmi", "# About the lighthouse\n")
    write_page(root, "/.meta", "about.gmi gone\n")
    capsule, _ = publish(root, tmp_path)
    assert "/about.gmi" not in text(capsule, "/search", "lighthouse")
