"""The mirror's page titles and the Gemini origin it links to."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.catalog.store import Catalog
from server.mirror.responses import Mirror, Request
from server.mirror.site import build_mirror
from tests.server.mirror.conftest import mirror_config, write_capsule


def page(mirror: Mirror, path: str) -> str:
    body = mirror.respond(Request("GET", "localhost", path)).body
    assert isinstance(body, bytes)
    return body.decode("utf-8")


@pytest.mark.parametrize(
    ("port", "origin"),
    [(None, "gemini://localhost"), (1965, "gemini://localhost"), (0, "gemini://localhost"),
     (1966, "gemini://localhost:1966")],
)
def test_footer_gemini_link_names_the_port_unless_it_is_the_default(
    tmp_path: Path, port: int | None, origin: str
) -> None:
    base, _ = build_mirror(mirror_config(write_capsule(tmp_path / "capsule"), tmp_path))
    mirror = Mirror(base.capsules, base.renderer, port)
    assert f'href="{origin}/a/b.gmi"' in page(mirror, "/a/b.html")


def test_footer_gemini_link_puts_an_ipv6_host_in_brackets(tmp_path: Path) -> None:
    base, _ = build_mirror(mirror_config(write_capsule(tmp_path / "capsule"), tmp_path))
    mirror = Mirror({"::1": base.capsules["localhost"]}, base.renderer, 1966)
    body = mirror.respond(Request("GET", "::1", "/a/b.html")).body
    assert isinstance(body, bytes)
    assert 'href="gemini://[::1]:1966/a/b.gmi"' in body.decode("utf-8")


@pytest.mark.parametrize(
    ("name", "mirror_path"), [("notes/plain-page.gmi", "/notes/plain-page.html"),
                              ("plain/index.gmi", "/plain/")],
)
def test_mirror_title_and_search_title_agree_for_a_page_without_heading(
    tmp_path: Path, name: str, mirror_path: str
) -> None:
    root = write_capsule(tmp_path / "capsule")
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text("Only text about teapots.\n")
    catalog = Catalog(root.resolve(), tmp_path / "index.sqlite3")
    catalog.refresh()
    (hit,) = catalog.search("teapots", 5).hits
    mirror, _ = build_mirror(mirror_config(root, tmp_path))
    assert f"<title>{hit.title}</title>" in page(mirror, mirror_path)
