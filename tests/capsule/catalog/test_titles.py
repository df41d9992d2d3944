"""One rule titles a page: its first heading, else a dated article's slug, else its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.catalog.store import Catalog
from capsule.catalog.titles import page_title
from gemtext import parse
from tests.harness import write_page


@pytest.mark.parametrize(
    ("gemtext", "path", "title"),
    [
        ("# Home\n## Later\n", "/index.gmi", "Home"),
        ("text\n### Deep first\n# Top\n", "/a.gmi", "Deep first"),
        ("# Heading\n", "/2026-11-22-tea-time.gmi", "Heading"),
        ("no heading\n", "/2026-11-22-tea-time.gmi", "Tea time"),
        ("no heading\n", "/2026/11/22/tea_time.gmi", "Tea time"),
        ("no heading\n", "/2026-11-22.gmi", "2026-11-22"),
        ("no heading\n", "/notes/plain-page.gmi", "/notes/plain-page.gmi"),
        ("#\n", "/notes/empty-heading.gmi", "/notes/empty-heading.gmi"),
        ("", "/dir/index.gmi", "/dir/index.gmi"),
    ],
)
def test_page_title(gemtext: str, path: str, title: str) -> None:
    assert page_title(parse(gemtext), path) == title


def test_catalog_titles_an_undated_page_without_heading_by_its_path(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_page(root, "/notes/plain-page.gmi", "Only text about teapots.\n")
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    (hit,) = catalog.search("teapots", 5).hits
    assert hit.title == "/notes/plain-page.gmi"
    assert hit.title == page_title(parse("Only text about teapots.\n"), hit.path)
