"""Gemtext pages too large to render reach the mirror as files: served raw, streamed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from capsule.resources import File
from server.mirror.links import MirrorTarget
from server.mirror.responses import GEMTEXT_SOURCE
from server.mirror.site import build_mirror
from tests.server.mirror.conftest import StartMirror, mirror_config
from tests.server.mirror.mirror_client import fetch

LARGE_PAGE = "# Large\n" + "=> /about.gmi <b>not a link here</b>\n" * 1000


@pytest.fixture
def large_page(capsule_root: Path) -> File:
    path = capsule_root / "large.gmi"
    path.write_text(LARGE_PAGE, encoding="utf-8")
    stat = path.stat()
    return File(path, "text/gemini; charset=utf-8", stat.st_size, stat.st_mtime)


@pytest.mark.parametrize(
    ("mime", "raw"),
    [
        ("text/gemini; charset=utf-8", False),
        ("text/gemini; charset=utf-8", True),
        ("text/gemini", False),
        ("text/gemini; lang=en", False),
    ],
)
def test_gemtext_file_is_its_source_as_plain_text(
    capsule_root: Path, tmp_path: Path, large_page: File, mime: str, raw: bool
) -> None:
    mirror, _ = build_mirror(mirror_config(capsule_root, tmp_path))
    file = replace(large_page, mime=mime)
    response = mirror.response_for(file, MirrorTarget("/large.gmi", raw), "localhost")
    assert response.status == 200
    assert dict(response.headers)["Content-Type"] == GEMTEXT_SOURCE
    assert dict(response.headers)["Content-Length"] == str(file.size)
    assert response.body is file


async def test_large_page_is_streamed_raw_at_its_page_url(
    start_mirror: StartMirror, large_page: File
) -> None:
    port = await start_mirror(scripted={"/large.gmi": large_page})
    response = await fetch(port, "/large.html")
    assert response.status == 200
    assert response.headers["content-type"] == GEMTEXT_SOURCE
    assert response.text == LARGE_PAGE
