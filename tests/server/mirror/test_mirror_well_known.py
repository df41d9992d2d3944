"""favicon.txt and security.txt over a real HTTP socket, while every other dot name stays hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import write_page
from tests.server.mirror.conftest import StartMirror
from tests.server.mirror.mirror_client import fetch


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Home\n")
    write_page(root, "/.well-known/security.txt", "Contact: mailto:a@news.example\n")
    write_page(root, "/favicon.txt", "🌻\n")
    write_page(root, "/.git/config", "[core]\n")
    write_page(root, "/.well-known/.secret", "private\n")
    return root


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/.well-known/security.txt", "Contact: mailto:a@news.example\n"),
        ("/favicon.txt", "🌻\n"),
    ],
)
async def test_well_known_files_are_served_as_plain_text(
    start_mirror: StartMirror, root: Path, path: str, body: str
) -> None:
    response = await fetch(await start_mirror(root=root), path)
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == body


@pytest.mark.parametrize(
    "path", ["/.git/config", "/.well-known/.secret", "/.well-known/../.git/config"]
)
async def test_other_dot_names_stay_hidden(
    start_mirror: StartMirror, root: Path, path: str
) -> None:
    assert (await fetch(await start_mirror(root=root), path)).status == 404
