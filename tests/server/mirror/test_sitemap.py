"""Sitemaps as sitemaps.org defines them: one URL set, or an index over numbered URL sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from server.mirror.sitemap import (
    MAX_URLS,
    SITEMAP_PATH,
    Listed,
    is_sitemap_path,
    part_path,
    sitemap_files,
)

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ORIGIN = "https://news.example"
START = datetime(2026, 1, 1, tzinfo=UTC)


def articles(count: int) -> list[Listed]:
    """`count` URLs, each modified a minute after the one before."""
    return [
        Listed(f"{ORIGIN}/{number}.html", START + timedelta(minutes=number))
        for number in range(count)
    ]


def parsed(document: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(document)


def locs(element: ElementTree.Element, kind: str) -> list[str]:
    return [item.findtext(f"{NS}loc") or "" for item in element.iter(f"{NS}{kind}")]


def test_a_few_urls_make_one_url_set_at_sitemap_xml() -> None:
    files = sitemap_files(articles(3), ORIGIN)
    assert list(files) == [SITEMAP_PATH]
    urlset = parsed(files[SITEMAP_PATH])
    assert urlset.tag == f"{NS}urlset"
    assert locs(urlset, "url") == [f"{ORIGIN}/0.html", f"{ORIGIN}/1.html", f"{ORIGIN}/2.html"]
    lastmods = [url.findtext(f"{NS}lastmod") for url in urlset.iter(f"{NS}url")]
    assert lastmods == [
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:01:00+00:00",
        "2026-01-01T00:02:00+00:00",
    ]


def test_files_start_with_an_xml_declaration() -> None:
    assert sitemap_files(articles(1), ORIGIN)[SITEMAP_PATH].startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
    )


def test_exactly_the_limit_still_fits_in_one_file() -> None:
    files = sitemap_files(articles(MAX_URLS), ORIGIN)
    assert list(files) == [SITEMAP_PATH]
    assert len(locs(parsed(files[SITEMAP_PATH]), "url")) == MAX_URLS


def test_one_url_over_the_limit_makes_an_index_of_two_numbered_sitemaps() -> None:
    listed = articles(MAX_URLS + 1)
    files = sitemap_files(listed, ORIGIN + "/")
    assert list(files) == [SITEMAP_PATH, part_path(1), part_path(2)]
    index = parsed(files[SITEMAP_PATH])
    assert index.tag == f"{NS}sitemapindex"
    assert locs(index, "sitemap") == [f"{ORIGIN}/sitemap-1.xml", f"{ORIGIN}/sitemap-2.xml"]
    first, second = (parsed(files[part_path(n)]) for n in (1, 2))
    assert locs(first, "url") + locs(second, "url") == [item.url for item in listed]
    assert len(locs(first, "url")) == MAX_URLS


def test_each_numbered_sitemap_is_dated_by_its_latest_url() -> None:
    files = sitemap_files(list(reversed(articles(MAX_URLS + 1))), ORIGIN)
    index = parsed(files[SITEMAP_PATH])
    lastmods = [item.findtext(f"{NS}lastmod") for item in index.iter(f"{NS}sitemap")]
    latest = START + timedelta(minutes=MAX_URLS)
    assert lastmods == [latest.isoformat(), START.isoformat()]


def test_a_file_is_cut_before_it_outgrows_the_byte_limit() -> None:
    listed = articles(100)
    one_url = len(sitemap_files(listed[:1], ORIGIN)[SITEMAP_PATH])
    files = sitemap_files(listed, ORIGIN, max_bytes=one_url + 200)
    parts = [path for path in files if path != SITEMAP_PATH]
    assert len(parts) > 1
    assert all(len(files[path]) <= one_url + 200 for path in parts)
    assert [loc for path in parts for loc in locs(parsed(files[path]), "url")] == [
        item.url for item in listed
    ]


def test_urls_are_escaped_for_xml() -> None:
    tricky = f"{ORIGIN}/a.html?x=1&y='2'<\">"
    document = sitemap_files([Listed(tricky, None)], ORIGIN)[SITEMAP_PATH]
    assert b"&amp;" in document and b"&lt;" in document and b"&apos;" in document
    assert locs(parsed(document), "url") == [tricky]


def test_an_unknown_modification_time_leaves_out_lastmod() -> None:
    urlset = parsed(sitemap_files([Listed(f"{ORIGIN}/", None)], ORIGIN)[SITEMAP_PATH])
    (url,) = urlset.iter(f"{NS}url")
    assert url.find(f"{NS}lastmod") is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/sitemap.xml", True),
        ("/sitemap-1.xml", True),
        ("/sitemap-12.xml", True),
        ("/sitemap-0.xml", False),
        ("/sitemap-01.xml", False),
        ("/sitemap-x.xml", False),
        ("/a/sitemap.xml", False),
        ("/sitemap.xml/", False),
    ],
)
def test_sitemap_paths(path: str, expected: bool) -> None:
    assert is_sitemap_path(path) is expected
