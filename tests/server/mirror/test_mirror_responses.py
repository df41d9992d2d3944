"""How the mirror answers each resource: status, headers, rendering and caching (no sockets)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from email.utils import formatdate
from pathlib import Path

import pytest

from capsule.articles import Article
from capsule.resources import Feed, Gone, InputPrompt, Page, Redirect, Resource
from server.mirror.pages import STYLESHEET_PATH
from server.mirror.responses import CSP, Mirror, Request, Response
from server.mirror.site import build_mirror
from tests.harness import write_page
from tests.server.mirror.conftest import ScriptedCapsule, mirror_config

SCRIPTED: dict[str, Resource] = {
    "/old.gmi": Redirect("/a/b.gmi", permanent=True),
    "/moved/": Redirect("/a/", permanent=False),
    "/away.gmi": Redirect("gemini://elsewhere.example/x.gmi", permanent=False),
    "/gone.gmi": Gone("Removed for good"),
    "/search.gmi": InputPrompt("Search <the> capsule"),
    "/login.gmi": InputPrompt("Password", sensitive=True),
    "/atom.xml": Feed("Articles", "/atom.xml", (Article("/a/b.gmi", date(2026, 11, 24), "B"),)),
    "/archive/": Page("# Archive\n=> /a/b.gmi B\n"),
    "/results": Page("# Results\n"),
}


def make_mirror(root: Path, tmp_path: Path, **settings: object) -> Mirror:
    mirror, _ = build_mirror(mirror_config(root, tmp_path, **settings))
    return Mirror({"localhost": ScriptedCapsule(root, SCRIPTED)}, mirror.renderer, None)


@pytest.fixture
def mirror(capsule_root: Path, tmp_path: Path) -> Mirror:
    return make_mirror(capsule_root, tmp_path)


def get(mirror: Mirror, path: str, **conditions: str) -> Response:
    return mirror.respond(Request("GET", "localhost", path, **conditions))


def html(response: Response) -> str:
    assert isinstance(response.body, bytes)
    return response.body.decode("utf-8")


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/", 200, "text/html; charset=utf-8"),
        ("/a/b.html", 200, "text/html; charset=utf-8"),
        ("/a/b.gmi", 200, "text/plain; charset=utf-8"),
        ("/files/note.txt", 200, "text/plain; charset=utf-8"),
        ("/search.html", 200, "text/html; charset=utf-8"),
        ("/missing.html", 404, "text/html; charset=utf-8"),
        ("/gone.html", 410, "text/html; charset=utf-8"),
        (STYLESHEET_PATH, 200, "text/css; charset=utf-8"),
    ],
)
def test_resource_answers_with_its_status_and_type(
    mirror: Mirror, path: str, status: int, content_type: str
) -> None:
    response = get(mirror, path)
    assert response.status == status
    assert dict(response.headers)["Content-Type"] == content_type


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        ("/old.html", 301, "/a/b.html"),
        ("/moved/", 302, "/a/"),
        ("/away.html", 302, "gemini://elsewhere.example/x.gmi"),
        ("/a", 301, "/a/"),
    ],
)
def test_redirect_keeps_its_permanence_and_maps_its_target(
    mirror: Mirror, path: str, status: int, location: str
) -> None:
    response = get(mirror, path)
    assert (response.status, dict(response.headers)["Location"]) == (status, location)


def test_every_response_carries_the_security_headers(mirror: Mirror) -> None:
    for path in ["/", "/files/note.txt", "/missing.html", "/old.html", STYLESHEET_PATH]:
        headers = dict(get(mirror, path).headers)
        assert headers["Content-Security-Policy"] == CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_page_is_cacheable_for_a_minute(mirror: Mirror) -> None:
    assert dict(get(mirror, "/").headers)["Cache-Control"] == "public, max-age=60"


def test_file_body_is_the_file_to_stream(mirror: Mirror, capsule_root: Path) -> None:
    response = get(mirror, "/files/note.txt")
    assert not isinstance(response.body, bytes)
    assert response.body.path == (capsule_root / "files" / "note.txt").resolve()
    assert dict(response.headers)["Content-Length"] == str(len("a note\n"))


def test_raw_gemtext_is_the_source_as_written(mirror: Mirror) -> None:
    assert get(mirror, "/a/b.gmi").body == Path(
        mirror.capsules["localhost"].root / "a" / "b.gmi"
    ).read_bytes()


def test_page_title_is_the_first_heading(mirror: Mirror) -> None:
    assert "<title>Page B</title>" in html(get(mirror, "/a/b.html"))


def test_page_without_heading_is_titled_by_its_path(mirror: Mirror, capsule_root: Path) -> None:
    (capsule_root / "plain.gmi").write_text("no heading here\n")
    assert "<title>/plain.gmi</title>" in html(get(mirror, "/plain.html"))


def test_page_language_goes_on_the_html_element(capsule_root: Path, tmp_path: Path) -> None:
    mirror, _ = build_mirror(replace(mirror_config(capsule_root, tmp_path), lang="fr"))
    assert '<html lang="fr">' in html(get(mirror, "/"))


def test_page_footer_links_to_gemini_and_to_the_source(mirror: Mirror) -> None:
    page = html(get(mirror, "/a/b.html"))
    assert 'href="gemini://localhost/a/b.gmi"' in page
    assert 'href="/a/b.gmi"' in page


def test_directory_footer_links_to_its_index_source(mirror: Mirror) -> None:
    page = html(get(mirror, "/a/"))
    assert 'href="gemini://localhost/a/"' in page
    assert 'href="/a/index.gmi"' in page


def test_links_are_rewritten_to_mirror_paths(mirror: Mirror) -> None:
    hrefs = re.findall(r'href="([^"]*)"', html(get(mirror, "/")))
    assert "/a/b.html" in hrefs
    assert "/about.html" in hrefs
    assert "gemini://elsewhere.example/page.gmi" in hrefs
    assert "https://example.org/" in hrefs
    assert "/files/note.txt" in hrefs


def test_consecutive_list_items_share_one_list(mirror: Mirror) -> None:
    page = html(get(mirror, "/"))
    assert page.count("<ul>") == 1
    assert re.search(r"<ul>\s*<li>first</li>\s*<li>second</li>\s*<li>third</li>\s*</ul>", page)


def test_script_in_headings_labels_and_alt_text_is_escaped(mirror: Mirror) -> None:
    page = html(get(mirror, "/xss.html"))
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;heading&#x27;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;alt&#x27;)&lt;/script&gt;" in page
    assert "<img" not in page


def test_javascript_link_is_not_rendered_as_a_link(mirror: Mirror) -> None:
    page = html(get(mirror, "/xss.html"))
    assert "javascript:" not in page
    assert "&lt;script&gt;alert(&#x27;label&#x27;)&lt;/script&gt;</p>" in page


def test_no_page_contains_script(mirror: Mirror) -> None:
    for path in ["/", "/about.html", "/a/", "/a/b.html", "/xss.html", "/search.html",
                 "/missing.html", "/gone.html"]:
        assert "<script" not in html(get(mirror, path)).lower(), path


def test_input_prompt_is_a_get_form_submitting_q(mirror: Mirror) -> None:
    page = html(get(mirror, "/search.html"))
    assert re.search(r'<form method="get" action="/search.html">', page)
    assert 'name="q"' in page and 'type="text"' in page
    assert "Search &lt;the&gt; capsule" in page


def test_sensitive_input_prompt_hides_what_is_typed(mirror: Mirror) -> None:
    assert 'type="password"' in html(get(mirror, "/login.html"))


def test_gone_page_says_why(mirror: Mirror) -> None:
    page = html(get(mirror, "/gone.html"))
    assert "410" in page and "Removed for good" in page


def png(width: int, height: int) -> bytes:
    """The first bytes of a PNG file: enough for its size to be read."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 6, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + header + bytes(4)


def test_images_on_article_pages_are_figures_sized_from_their_files(
    capsule_root: Path, tmp_path: Path
) -> None:
    write_page(capsule_root, "/2026/11/20/photo.gmi", "# Photo\n=> pier.png The <pier> at dawn\n")
    (capsule_root / "2026/11/20/pier.png").write_bytes(png(1200, 800))
    page = html(get(make_mirror(capsule_root, tmp_path), "/2026/11/20/photo.html"))
    assert (
        '<figure><img src="/2026/11/20/pier.png" alt="The &lt;pier&gt; at dawn" loading="lazy" '
        'decoding="async" width="1200" height="800">'
        "<figcaption>The &lt;pier&gt; at dawn</figcaption></figure>"
    ) in page


def test_images_elsewhere_and_without_inline_images_stay_links(
    capsule_root: Path, tmp_path: Path
) -> None:
    write_page(capsule_root, "/2026/11/20/photo.gmi", "# Photo\n=> pier.png The pier\n")
    assert '<a href="/picture.png">' in html(get(make_mirror(capsule_root, tmp_path), "/xss.html"))
    plain = make_mirror(capsule_root, tmp_path, inline_images=False)
    assert '<a href="/2026/11/20/pier.png">' in html(get(plain, "/2026/11/20/photo.html"))


def test_operator_templates_override_packaged_ones(capsule_root: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.html").write_text("<p>custom {{ title }}</p>{{ content | safe }}")
    (templates / "style.css").write_text("body { color: red; }\n")
    mirror = make_mirror(capsule_root, tmp_path, templates=templates)
    assert html(get(mirror, "/a/b.html")).startswith("<p>custom Page B</p><h1>Page B</h1>")
    assert get(mirror, STYLESHEET_PATH).body == b"body { color: red; }\n"
    assert "<!DOCTYPE html>" in html(get(mirror, "/missing.html"))


def test_packaged_stylesheet_has_a_dark_mode(mirror: Mirror) -> None:
    assert b"prefers-color-scheme: dark" in get(mirror, STYLESHEET_PATH).body  # type: ignore


def test_capsule_html_file_is_served_when_no_page_claims_its_name(
    mirror: Mirror, capsule_root: Path
) -> None:
    (capsule_root / "plain.html").write_text("<p>hand written</p>\n")
    response = get(mirror, "/plain.html")
    assert response.status == 200
    assert dict(response.headers)["Content-Type"] == "text/html; charset=utf-8"
    assert not isinstance(response.body, bytes)


def test_form_field_q_becomes_the_capsule_query(mirror: Mirror) -> None:
    get(mirror, "/search", query="q=gemini+pages%21")
    assert mirror.capsules["localhost"].queries["/search"] == "gemini pages!"  # type: ignore[attr-defined]


def test_other_query_is_decoded_as_gemini_sends_it(mirror: Mirror) -> None:
    get(mirror, "/search", query="gemini%20pages")
    assert mirror.capsules["localhost"].queries["/search"] == "gemini pages"  # type: ignore[attr-defined]


def test_feed_is_atom_with_absolute_mirror_urls(capsule_root: Path, tmp_path: Path) -> None:
    mirror = make_mirror(capsule_root, tmp_path, base_url="https://mirror.example/")
    response = get(mirror, "/atom.xml")
    assert dict(response.headers)["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert b'href="https://mirror.example/a/b.html"' in response.body  # type: ignore[operator]


def test_feed_without_base_url_uses_the_origin_asked_for(mirror: Mirror) -> None:
    response = get(mirror, "/atom.xml", origin="http://localhost:8080")
    assert b'href="http://localhost:8080/a/b.html"' in response.body  # type: ignore[operator]


def test_source_of_a_generated_directory_page_is_served(mirror: Mirror) -> None:
    response = get(mirror, "/archive/index.gmi")
    assert (response.status, response.body) == (200, b"# Archive\n=> /a/b.gmi B\n")


def test_page_at_a_path_without_gemtext_name_has_no_source_link(mirror: Mirror) -> None:
    page = html(get(mirror, "/results"))
    assert "<h1>Results</h1>" in page
    assert "gemtext source" not in page


def test_matching_etag_is_not_modified(mirror: Mirror) -> None:
    etag = dict(get(mirror, "/").headers)["ETag"]
    response = get(mirror, "/", if_none_match=etag)
    assert response.status == 304
    assert response.body == b""
    assert dict(response.headers)["ETag"] == etag


def test_weak_or_listed_etag_also_matches(mirror: Mirror) -> None:
    etag = dict(get(mirror, "/").headers)["ETag"]
    assert get(mirror, "/", if_none_match=f'"other", W/{etag}').status == 304


def test_other_etag_gets_the_page(mirror: Mirror) -> None:
    assert get(mirror, "/", if_none_match='"stale"').status == 200


def test_file_unmodified_since_is_not_modified(mirror: Mirror) -> None:
    last_modified = dict(get(mirror, "/files/note.txt").headers)["Last-Modified"]
    assert get(mirror, "/files/note.txt", if_modified_since=last_modified).status == 304


def test_file_modified_since_is_sent(mirror: Mirror) -> None:
    long_ago = formatdate(0, usegmt=True)
    assert get(mirror, "/files/note.txt", if_modified_since=long_ago).status == 200


def test_if_none_match_wins_over_if_modified_since(mirror: Mirror) -> None:
    last_modified = dict(get(mirror, "/files/note.txt").headers)["Last-Modified"]
    response = get(mirror, "/files/note.txt", if_none_match='"stale"',
                   if_modified_since=last_modified)
    assert response.status == 200


def test_errors_are_never_not_modified(mirror: Mirror) -> None:
    assert get(mirror, "/missing.html", if_none_match="*").status == 404


def test_a_not_found_page_links_to_no_gemini_page(mirror: Mirror) -> None:
    page = html(get(mirror, "/missing.html"))
    assert "404" in page
    assert "gemini://" not in page


def test_traversal_outside_the_root_is_not_found(mirror: Mirror) -> None:
    assert get(mirror, "/../secret.txt").status == 404


def test_article_without_heading_is_titled_by_its_slug(mirror: Mirror, capsule_root: Path) -> None:
    (capsule_root / "2026-04-01-april-fools.gmi").write_text("no heading here\n")
    assert "<title>April fools</title>" in html(get(mirror, "/2026-04-01-april-fools.html"))


@pytest.mark.parametrize(("query", "location"), [("x=1", "/a/?x=1"), ("q=tea", "/a/?tea")])
def test_directory_redirect_keeps_the_query(mirror: Mirror, query: str, location: str) -> None:
    response = mirror.respond(Request("GET", "localhost", "/a", query=query))
    assert (response.status, dict(response.headers)["Location"]) == (301, location)
