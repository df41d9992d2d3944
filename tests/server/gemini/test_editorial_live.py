"""Drafts, articles not published yet and withdrawn articles on a running `capsule serve`, over
real TLS with client certificates and over the mirror; and an article timed a couple of seconds
ahead that shows in the feeds at its time, with no restart and no change on disk."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.harness import CapsuleProcess, write_page
from tests.server.gemini.test_publication_live import http
from tests.tls_harness import ClientIdentity, build_client_identity, client_context, fetch

DRAFT = "/2026/11/21/budget.gmi"
META_DRAFT = "/drafts/plans.gmi"
FUTURE = "/2099/01/01/future.gmi"
RECALLED = "/2026/11/22/recalled.gmi"
RELEASE_DEADLINE = 30.0
"""Seconds a timed article may take to show after its time before the test fails."""


@dataclass(frozen=True)
class Newsroom:
    """The running server, its root, and the client identities of these tests."""

    capsule: CapsuleProcess
    root: Path
    editor: ClientIdentity  # on the staff list
    reader: ClientIdentity  # not on it


def fingerprint(identity: ClientIdentity) -> str:
    return "sha256:" + hashlib.sha256(identity.der()).hexdigest()


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newsroom]:
    base = tmp_path_factory.mktemp("newsroom")
    editor = build_client_identity(base, "editor")
    reader = build_client_identity(base, "reader")
    root = base / "root"
    write_page(root, "/index.gmi", "# Harbour News\n\n{{recent 10}}\n")
    write_page(root, "/2026/11/20/ferry.gmi", "# Ferry timetable\nThe harbour ferry.\n")
    write_page(root, DRAFT, "Status: draft\n\n# Budget draft\nThe harbour budget.\n")
    write_page(root, META_DRAFT, "# Plans draft\nThe harbour plans.\n")
    write_page(root, FUTURE, "# Future story\nThe harbour in 2099.\n")
    write_page(root, RECALLED, "# Recalled story\nThe harbour recall.\n")
    write_page(root, "/.meta", "drafts/ draft\n2026/11/22/recalled.gmi gone\n")
    config = base / "capsule.toml"
    config.write_text(f'[publication]\nstaff = ["{fingerprint(editor)}"]\n')
    with CapsuleProcess(
        "--config", str(config), "--root", str(root), "--listen", "127.0.0.1:0",
        "--http", "127.0.0.1:0", "--requests-per-second", "0",
        "--index-interval", "0.2", "--full-index-interval", "600",
        state_dir=base / "state", log_dir=base,
    ) as capsule:
        capsule.wait_for_log("index of")
        yield Newsroom(capsule, root, editor, reader)


def ask(newsroom: Newsroom, path: str, identity: ClientIdentity | None = None) -> bytes:
    """The whole Gemini response for `path`, asked with `identity`."""
    request = f"gemini://localhost{path}\r\n".encode()
    result = fetch(newsroom.capsule.gemini_port, client_context(None, identity), request=request)
    assert result.close_notify
    return result.response


@pytest.mark.parametrize("path", [DRAFT, META_DRAFT])
def test_a_draft_is_60_61_or_served_to_the_staff(newsroom: Newsroom, path: str) -> None:
    assert ask(newsroom, path).startswith(b"60 ")
    assert ask(newsroom, path, newsroom.reader).startswith(b"61 ")
    served = ask(newsroom, path, newsroom.editor)
    assert served.startswith(b"20 text/gemini")
    assert b"Status:" not in served and b"draft" in served


def test_an_article_before_its_time_is_51_but_to_the_staff(newsroom: Newsroom) -> None:
    assert ask(newsroom, FUTURE).startswith(b"51 ")
    assert ask(newsroom, FUTURE, newsroom.reader).startswith(b"51 ")
    assert ask(newsroom, FUTURE, newsroom.editor).startswith(b"20 text/gemini")


def test_the_mirror_answers_403_for_drafts_and_404_before_the_time(newsroom: Newsroom) -> None:
    assert http(newsroom.capsule, "/2026/11/21/budget.html")[0] == 403
    assert http(newsroom.capsule, "/drafts/plans.html")[0] == 403
    assert http(newsroom.capsule, "/2099/01/01/future.html")[0] == 404
    assert http(newsroom.capsule, "/2026/11/22/recalled.html")[0] == 410


@pytest.mark.parametrize("path", ["/feed.gmi", "/", "/archive/2026/11/", "/search?harbour"])
def test_no_gemini_list_shows_them_even_to_the_staff(newsroom: Newsroom, path: str) -> None:
    listed = ask(newsroom, path, newsroom.editor).decode()
    assert listed.startswith("20 ") and "Ferry timetable" in listed
    for title in ("Budget draft", "Plans draft", "Future story", "Recalled story"):
        assert title not in listed, (path, title)


def test_an_article_shows_in_every_feed_at_its_time(newsroom: Newsroom) -> None:
    path = "/2026/11/25/tide.gmi"
    release = datetime.now(UTC) + timedelta(seconds=2)
    write_page(
        newsroom.root, path, f"Published: {release.isoformat()}\n\n# High tide\nThe harbour.\n"
    )
    newsroom.capsule.wait_for_log("1 added")
    gemfeed = ask(newsroom, "/feed.gmi").decode()
    page = ask(newsroom, path)
    atom = http(newsroom.capsule, "/atom.xml")[2]
    # Asserted whenever these answers came before the time, which they do unless the machine
    # stalls for two seconds; the injected-clock tests pin the same behaviour without timing.
    if datetime.now(UTC) < release:
        assert "High tide" not in gemfeed and "High tide" not in atom
        assert page.startswith(b"51 ")
    deadline = time.monotonic() + RELEASE_DEADLINE
    while "High tide" not in ask(newsroom, "/feed.gmi").decode():
        assert time.monotonic() < deadline, "the article never showed in the gemfeed"
        time.sleep(0.05)
    assert datetime.now(UTC) >= release
    assert "High tide" in http(newsroom.capsule, "/atom.xml")[2]
    assert "High tide" in ask(newsroom, "/").decode()
    assert "/2026/11/25/tide.html" in http(newsroom.capsule, "/sitemap.xml")[2]
    served = ask(newsroom, path)
    assert served.startswith(b"20 text/gemini") and b"Published:" not in served
