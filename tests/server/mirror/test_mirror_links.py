"""The one path mapping between capsule and mirror, and link rewriting on top of it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.mirror.links import MirrorTarget, capsule_target, mirror_path, raw_path, rewrite_link

OWN = frozenset({"localhost", "example.org"})


@pytest.mark.parametrize(
    ("capsule", "mirror"),
    [
        ("/", "/"),
        ("/index.gmi", "/"),
        ("/a/", "/a/"),
        ("/a/index.gmi", "/a/"),
        ("/a/b.gmi", "/a/b.html"),
        ("/b.gmi", "/b.html"),
        ("/a/b.gemini", "/a/b.gemini.html"),
        ("/a/b.GMI", "/a/b.GMI.html"),
        ("/a/b.gmi.gmi", "/a/b.gmi.gmi.html"),
        ("/files/x.txt", "/files/x.txt"),
        ("/img/cat.png", "/img/cat.png"),
        ("/a/b.html", "/a/b.html"),
    ],
)
def test_capsule_path_maps_to_mirror_path(capsule: str, mirror: str) -> None:
    assert mirror_path(capsule) == mirror


@pytest.mark.parametrize(
    ("mirror", "target"),
    [
        ("/", MirrorTarget("/", raw=False)),
        ("/index.html", MirrorTarget("/", raw=False)),
        ("/a/", MirrorTarget("/a/", raw=False)),
        ("/a/index.html", MirrorTarget("/a/", raw=False)),
        ("/a/b.html", MirrorTarget("/a/b.gmi", raw=False)),
        ("/a/b.gemini.html", MirrorTarget("/a/b.gemini", raw=False)),
        ("/a/b.gmi", MirrorTarget("/a/b.gmi", raw=True)),
        ("/a/index.gmi", MirrorTarget("/a/index.gmi", raw=True)),
        ("/files/x.txt", MirrorTarget("/files/x.txt", raw=False)),
        ("/a", MirrorTarget("/a", raw=False)),
    ],
)
def test_mirror_path_maps_back_to_capsule_target(mirror: str, target: MirrorTarget) -> None:
    assert capsule_target(mirror) == target


_segment = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#%"),
    min_size=1,
    max_size=12,
)


@given(st.lists(_segment, max_size=4), _segment, st.sampled_from([".gmi", ".gemini", ".txt", ""]))
def test_every_page_round_trips_through_the_mirror_path(
    directories: list[str], stem: str, suffix: str
) -> None:
    path = "/" + "".join(d + "/" for d in directories) + stem + suffix
    target = capsule_target(mirror_path(path))
    if target.path.endswith("/"):
        assert path.rpartition("/")[2] == "index.gmi"
        assert target.path == path.rpartition("/")[0] + "/"
    else:
        assert target.path == path


def test_raw_gemtext_of_a_directory_is_its_index() -> None:
    assert raw_path("/a/") == "/a/index.gmi"
    assert raw_path("/a/b.gmi") == "/a/b.gmi"


@pytest.mark.parametrize(
    ("page", "link", "href"),
    [
        ("/", "a/b.gmi", "/a/b.html"),
        ("/index.gmi", "a/b.gmi", "/a/b.html"),
        ("/a/b.gmi", "c.gmi", "/a/c.html"),
        ("/a/b.gmi", "../c.gmi", "/c.html"),
        ("/a/b.gmi", "../../../../c.gmi", "/c.html"),
        ("/a/b.gmi", "./", "/a/"),
        ("/a/b.gmi", "..", "/"),
        ("/a/b.gmi", "/", "/"),
        ("/a/b.gmi", "/index.gmi", "/"),
        ("/a/", "index.gmi", "/a/"),
        ("/a/", "sub/", "/a/sub/"),
        ("/a/b.gmi", "pic.png", "/a/pic.png"),
        ("/a/b.gmi", "/files/x.txt", "/files/x.txt"),
        ("/a/b.gmi", "c.gmi#part", "/a/c.html#part"),
        ("/a/b.gmi", "search.gmi?q=x", "/a/search.html?q=x"),
        ("/a/b.gmi", "#top", "#top"),
        ("/a/b.gmi", "gemini://localhost/x.gmi", "/x.html"),
        ("/a/b.gmi", "gemini://localhost:1965/x.gmi", "/x.html"),
        ("/a/b.gmi", "gemini://LOCALHOST/", "/"),
        ("/a/b.gmi", "gemini://example.org", "/"),
        ("/a/b.gmi", "//example.org/y/", "/y/"),
        ("/a/b.gmi", "gemini://other.example/x.gmi", "gemini://other.example/x.gmi"),
        ("/a/b.gmi", "//other.example/x.gmi", "gemini://other.example/x.gmi"),
        ("/a/b.gmi", "https://example.org/x.gmi", "https://example.org/x.gmi"),
        ("/a/b.gmi", "http://localhost/x.gmi", "http://localhost/x.gmi"),
        ("/a/b.gmi", "mailto:me@example.org", "mailto:me@example.org"),
        ("/a/b.gmi", "gemini://[::1/", "gemini://[::1/"),
    ],
)
def test_link_is_rewritten_for_the_mirror(page: str, link: str, href: str) -> None:
    assert rewrite_link(link, page, OWN) == href
