"""URL-path algebra: normalising, joining a link to its page, splitting, Gemini URLs."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsule.paths import gemini_url, join, join_within_root, remove_dot_segments, split_path


@pytest.mark.parametrize(
    ("path", "normalised"),
    [
        ("/", "/"),
        ("/..", "/"),
        ("/a/b", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/a/../b", "/b"),
        ("/a//b", "/a/b"),
        ("/../../a", "/a"),
        ("/a/", "/a/"),
        ("/a/.", "/a/"),
        ("/a/b/..", "/a/"),
        ("/a/..", "/"),
        ("//a", "/a"),
    ],
)
def test_remove_dot_segments(path: str, normalised: str) -> None:
    assert remove_dot_segments(path) == normalised


@pytest.mark.parametrize(
    ("page", "reference", "path"),
    [
        ("/index.gmi", "page.gmi", "/page.gmi"),
        ("/index.gmi", "./page.gmi", "/page.gmi"),
        ("/index.gmi", ".", "/"),
        ("/dir/page.gmi", "..", "/"),
        ("/dir/page.gmi", "../other.gmi", "/other.gmi"),
        ("/dir/page.gmi", "sub/", "/dir/sub/"),
        ("/dir/", "page.gmi", "/dir/page.gmi"),
        ("/dir/sub/leaf.gmi", "/dir//page.gmi", "/dir/page.gmi"),
        ("/dir/page.gmi", "/", "/"),
    ],
)
def test_join_resolves_a_link_against_its_page(page: str, reference: str, path: str) -> None:
    assert join(page, reference) == path
    assert join_within_root(page, reference) == path


@pytest.mark.parametrize(
    ("page", "reference", "clamped"),
    [
        ("/index.gmi", "..", "/"),
        ("/index.gmi", "../x.gmi", "/x.gmi"),
        ("/a/b.gmi", "../../x", "/x"),
        ("/a", "/../a", "/a"),
    ],
)
def test_link_climbing_above_the_root_stops_there_or_is_refused(
    page: str, reference: str, clamped: str
) -> None:
    assert join(page, reference) == clamped
    assert join_within_root(page, reference) is None


@pytest.mark.parametrize("page", ["/what?x/page.gmi", "/a#b/page.gmi", "/c;d/page.gmi"])
def test_join_reads_the_page_as_a_path_whatever_its_names_hold(page: str) -> None:
    assert join(page, "other.gmi") == page.rsplit("/", 1)[0] + "/other.gmi"


SEGMENT = st.sampled_from(["a", "b", ".", "..", "", "x.gmi", "%2e%2e"])
PATH = st.lists(SEGMENT, max_size=6).map("/".join)


@given(PATH, PATH)
def test_join_agrees_with_urljoin_on_relative_paths(page: str, reference: str) -> None:
    if reference.startswith("/") or not reference:
        return
    page = remove_dot_segments("/" + page)
    assert join(page, reference) == remove_dot_segments(urljoin(page, reference))


@given(PATH)
def test_remove_dot_segments_is_idempotent(path: str) -> None:
    once = remove_dot_segments("/" + path)
    assert remove_dot_segments(once) == once


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/", []),
        ("/a/b.gmi", ["a", "b.gmi"]),
        ("/a/b/", ["a", "b"]),
        ("/a//b", ["a", "b"]),
        ("a/b", None),
        ("", None),
        ("/a/../b", None),
        ("/./a", None),
        ("/a\x00b", None),
    ],
)
def test_split_path(path: str, names: list[str] | None) -> None:
    assert split_path(path) == names


@pytest.mark.parametrize(
    ("host", "port", "path", "url"),
    [
        ("example.org", None, "", "gemini://example.org"),
        ("example.org", 1965, "", "gemini://example.org"),
        ("example.org", 1966, "", "gemini://example.org:1966"),
        ("example.org", None, "/a%20b.gmi", "gemini://example.org/a%20b.gmi"),
        ("::1", None, "/", "gemini://[::1]/"),
        ("::1", 1965, "", "gemini://[::1]"),
        ("2001:db8::1", 8965, "/x", "gemini://[2001:db8::1]:8965/x"),
        ("127.0.0.1", 1966, "/", "gemini://127.0.0.1:1966/"),
    ],
)
def test_gemini_url(host: str, port: int | None, path: str, url: str) -> None:
    assert gemini_url(host, port, path) == url
