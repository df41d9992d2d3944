"""Protected pages over the mirror: a 403 page pointing to Gemini, and nothing of them anywhere
else, live or in the static export."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from server.mirror.export import export
from tests.harness import CapsuleProcess, write_page
from tests.server.mirror.conftest import StartMirror, mirror_config
from tests.server.mirror.mirror_client import fetch
from tests.server.mirror.test_mirror_browser import browser, dump_dom

SECRETS = ("zeppelin", "Secret plans", "Board minutes", "plans.html", "minutes", "hush")


def write_protected_capsule(root: Path) -> Path:
    """A capsule whose members/ directory and one file elsewhere are protected by `.meta`."""
    write_page(
        root, "/index.gmi", "# Home\n\n{{recent}}\n\n=> /members/ Members only\n=> /open/ Open\n"
    )
    write_page(root, "/2026/11/20/gardens.gmi", "# Gardens\nAbout gardens.\n")
    write_page(root, "/members/2026/11/23/plans.gmi",
               "# Secret plans\nThe zeppelin lands in the gardens.\n")
    write_page(root, "/members/minutes.gmi", "# Board minutes\nZeppelin budget.\n")
    write_page(root, "/members/photo.png", "not really a png")
    write_page(root, "/open/hush.gmi", "# Hush\nZeppelin.\n")
    write_page(root, "/open/note.txt", "public note\n")
    write_page(root, "/.meta", "members/ protect=any\nopen/hush.gmi protect=any\nopen/ listing\n")
    return root


@pytest.fixture
def protected_root(tmp_path: Path) -> Path:
    return write_protected_capsule(tmp_path / "protected")


@pytest.mark.parametrize(
    ("target", "gemini"),
    [
        ("/members/minutes.html", "gemini://localhost/members/minutes.gmi"),
        ("/members/minutes.gmi", "gemini://localhost/members/minutes.gmi"),
        ("/members/", "gemini://localhost/members/"),
        ("/members/2026/11/23/plans.html", "gemini://localhost/members/2026/11/23/plans.gmi"),
        ("/members/photo.png", "gemini://localhost/members/photo.png"),
        ("/open/hush.html", "gemini://localhost/open/hush.gmi"),
    ],
)
async def test_a_protected_path_is_a_403_page_linking_to_it_over_gemini(
    start_mirror: StartMirror, protected_root: Path, target: str, gemini: str
) -> None:
    port = await start_mirror(root=protected_root)
    response = await fetch(port, target)
    assert response.status == 403
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>403 A Gemini client certificate is needed</h1>" in response.text
    assert f'<a href="{gemini}">{gemini}</a>' in response.text
    for secret in ("zeppelin", "Secret plans", "Board minutes", "not really"):
        assert secret.lower() not in response.text.lower()


async def test_head_of_a_protected_page_is_403_too(
    start_mirror: StartMirror, protected_root: Path
) -> None:
    port = await start_mirror(root=protected_root)
    response = await fetch(port, "/members/minutes.html", method="HEAD")
    assert (response.status, response.body) == (403, b"")


@pytest.mark.parametrize(
    "target",
    ["/", "/archive/", "/archive/2026/11/", "/feed.html", "/feed.gmi", "/atom.xml",
     "/search?q=zeppelin", "/search?q=gardens", "/open/"],
)
async def test_generated_pages_show_nothing_protected(
    start_mirror: StartMirror, protected_root: Path, target: str
) -> None:
    port = await start_mirror(root=protected_root)
    response = await fetch(port, target)
    assert response.status == 200
    # The author's own link to members/ on the home page is theirs to keep; nothing generated.
    text = response.text.replace('href="/members/">Members only', "")
    text = text.replace("Search: zeppelin", "")
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), (secret, text)


async def test_search_still_finds_public_pages(
    start_mirror: StartMirror, protected_root: Path
) -> None:
    port = await start_mirror(root=protected_root)
    response = await fetch(port, "/search?q=gardens")
    assert 'href="/2026/11/20/gardens.html"' in response.text


def test_the_static_export_writes_nothing_protected(
    tmp_path: Path, protected_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outdir = tmp_path / "site"
    with caplog.at_level(logging.WARNING):
        export(mirror_config(protected_root, tmp_path, base_url="https://x.example/"), outdir)
    written = {path.relative_to(outdir).as_posix() for path in outdir.rglob("*") if path.is_file()}
    assert {"index.html", "2026/11/20/gardens.html", "open/index.html", "open/note.txt",
            "feed.html", "atom.xml"} <= written
    assert not [name for name in written if name.startswith("members/") or "hush" in name]
    for name in written:
        content = (outdir / name).read_bytes().decode("utf-8", errors="replace").lower()
        for secret in ("zeppelin", "secret plans", "board minutes", "hush"):
            assert secret not in content, (name, secret)
    messages = [record.getMessage() for record in caplog.records]
    assert (
        "build: 4 files not written: protected, drafts, withdrawn or not published yet"
        in messages
    )


def test_a_browser_shows_the_403_page_of_a_path_protected_in_the_configuration(
    tmp_path: Path,
) -> None:
    browser()
    root = tmp_path / "capsule"
    write_page(root, "/index.gmi", "# Home\n")
    write_page(root, "/board/minutes.gmi", "# Board minutes\nZeppelin budget.\n")
    config = tmp_path / "capsule.toml"
    config.write_text(
        f'root = "{root}"\n[[protect]]\npaths = ["/board/"]\nidentities = ["sha256:{"a" * 64}"]\n'
    )
    with CapsuleProcess(
        "--config", str(config), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        dom = dump_dom(f"http://127.0.0.1:{capsule.http_port}/board/minutes.html",
                       tmp_path / "profile")
    assert dom.title == "A Gemini client certificate is needed"
    assert dom.headings == [("h1", "403 A Gemini client certificate is needed")]
    assert [href for href in dom.hrefs if href.startswith("gemini://")] == [
        "gemini://localhost/board/minutes.gmi"
    ]
