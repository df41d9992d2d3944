"""Which paths are articles, with which date and slug."""

from __future__ import annotations

from datetime import date

import pytest

from capsule.articles import article_date, fallback_title


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/2026/11/20/first-start.gmi", (date(2026, 11, 20), "first-start")),
        ("/news/2026/11/20/first-start.gmi", (date(2026, 11, 20), "first-start")),
        ("/2026-11-20-first-start.gmi", (date(2026, 11, 20), "first-start")),
        ("/posts/2026-11-20_first_start.gmi", (date(2026, 11, 20), "first_start")),
        ("/2026-11-20.gmi", (date(2026, 11, 20), "")),
        ("/2024/02/29/leap.gmi", (date(2024, 2, 29), "leap")),
        ("/2024-02-29-leap.gemini", (date(2024, 2, 29), "leap")),
        ("/1999/12/31/2026-01-02-name-wins.gmi", (date(2026, 1, 2), "name-wins")),
        (
            "/2026/01/02/2026-13-40-bad-name-falls-back.gmi",
            (date(2026, 1, 2), "2026-13-40-bad-name-falls-back"),
        ),
    ],
)
def test_dated_paths_are_articles(path: str, expected: tuple[date, str]) -> None:
    assert article_date(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/about.gmi",
        "/index.gmi",
        "/2026/11/20/index.gmi",
        "/2026/11/20/photo.png",
        "/2026-11-20-notes.txt",
        "/2023/02/29/not-leap.gmi",
        "/2026-02-30-impossible.gmi",
        "/2026/13/01/no-such-month.gmi",
        "/2026/00/10/month-zero.gmi",
        "/2026/11/00/day-zero.gmi",
        "/2026/1/2/one-digit.gmi",
        "/26/11/20/short-year.gmi",
        "/20261120-compact.gmi",
        "/2026-11-20first.gmi",
        "/2026-11-2-short-day.gmi",
        "/11/20/only-month-day.gmi",
    ],
)
def test_other_paths_are_plain_pages(path: str) -> None:
    assert article_date(path) is None


@pytest.mark.parametrize(
    ("slug", "title"),
    [("first-start", "First start"), ("a_b--c", "A b c"), ("", "2026-11-20")],
)
def test_fallback_title_is_the_slug_in_words_or_the_date(slug: str, title: str) -> None:
    assert fallback_title(date(2026, 11, 20), slug) == title
