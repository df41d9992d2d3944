"""A running `capsule serve` decides on what it acts on: a symlink cannot publish what the rules
of its target hide, a Titan grant holds for the file actually written, and a `.meta` file that
cannot be read keeps its directory closed, on both protocols and in every list."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import CapsuleProcess, capsule_command, write_page
from tests.server.gemini.test_publication_live import gemini, http
from tests.titan_client import fingerprint, titan_url, upload
from tests.tls_harness import ClientIdentity, openssl_req_identity

SECRET = "# Secret plans\nThe launch word is swordfish.\n"
DRAFT = "# Draft plans\nThe draft word is marlin.\n"
FUTURE = "# Future plans\nThe future word is halibut.\n"
CLOSED = "# Closed plans\nThe closed word is grouper.\n"
HIDDEN = "# Hidden plans\nThe hidden word is barracuda.\n"


def link(root: Path, path: str, target: str) -> None:
    """Make the symlink at URL path `path` lead to `target` (relative to the link)."""
    place = root / path.lstrip("/")
    place.parent.mkdir(parents=True, exist_ok=True)
    place.symlink_to(target)


def unreadable_meta(directory: Path) -> None:
    """A `.meta` file in `directory` that the server cannot read, whoever it runs as."""
    (directory / ".meta").symlink_to(".meta")  # a loop: reading it fails even as root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Garden News\n{{recent 20}}\n")
    write_page(root, "/2026/01/01/public.gmi", "# Public news\nEverybody reads this.\n")
    write_page(root, "/.meta", "members/ protect=any\ndrafts/ draft\nlater/* published=2999-01-01\n"
               "pub/ listing\n")
    write_page(root, "/members/2026-01-02-secret.gmi", SECRET)
    write_page(root, "/drafts/2026-01-02-plan.gmi", DRAFT)
    write_page(root, "/later/2026-01-02-soon.gmi", FUTURE)
    link(root, "/pub/2026-01-03-leak.gmi", "../members/2026-01-02-secret.gmi")
    link(root, "/pub/2026-01-03-draft.gmi", "../drafts/2026-01-02-plan.gmi")
    link(root, "/pub/2026-01-03-soon.gmi", "../later/2026-01-02-soon.gmi")
    link(root, "/pub/mdir", "../members")
    write_page(root, "/closed/2026-01-04-shut.gmi", CLOSED)
    unreadable_meta(root / "closed")
    write_page(root, "/.hidden/2026-01-05-h.gmi", HIDDEN)
    link(root, "/pub/2026-01-05-hidden.gmi", "../.hidden/2026-01-05-h.gmi")
    link(root, "/pub/hid", "../.hidden")
    link(root, "/pub/rules.txt", "../.meta")
    return root


@pytest.fixture
def capsule(root: Path, tmp_path: Path) -> Iterator[CapsuleProcess]:
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--root", str(root),
        "--index-interval", "0.2", "--full-index-interval", "600", "--requests-per-second", "0",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as process:
        process.wait_for_log("index of")
        yield process


WORDS = ("swordfish", "marlin", "halibut", "grouper", "barracuda")
TITLES = ("Secret plans", "Draft plans", "Future plans", "Closed plans", "Hidden plans")


def test_a_symlink_does_not_serve_what_the_rules_of_its_target_refuse(
    capsule: CapsuleProcess,
) -> None:
    assert gemini(capsule, "/2026/01/01/public.gmi")[0].startswith("20 ")
    assert gemini(capsule, "/pub/2026-01-03-leak.gmi")[0].startswith("60 ")
    assert gemini(capsule, "/pub/mdir/2026-01-02-secret.gmi")[0].startswith("60 ")
    assert gemini(capsule, "/pub/mdir/")[0].startswith("60 ")
    assert gemini(capsule, "/pub/2026-01-03-draft.gmi")[0].startswith("60 ")
    assert gemini(capsule, "/pub/2026-01-03-soon.gmi")[0].startswith("51 ")
    assert http(capsule, "/pub/2026-01-03-leak.html")[0] == 403
    assert http(capsule, "/pub/mdir/2026-01-02-secret.html")[0] == 403
    assert http(capsule, "/pub/2026-01-03-draft.html")[0] == 403
    assert http(capsule, "/pub/2026-01-03-soon.html")[0] == 404


def test_a_symlink_into_a_dotfile_serves_nothing(capsule: CapsuleProcess) -> None:
    for path in ("/pub/2026-01-05-hidden.gmi", "/pub/hid/2026-01-05-h.gmi", "/pub/rules.txt"):
        assert gemini(capsule, path)[0].startswith("51 "), path
    assert http(capsule, "/pub/2026-01-05-hidden.html")[0] == 404
    assert http(capsule, "/pub/rules.txt")[0] == 404
    listing = gemini(capsule, "/pub/")[1]
    assert "hidden" not in listing and "hid/" not in listing and "rules.txt" not in listing


def test_a_symlink_does_not_bring_what_its_target_hides_into_any_list(
    capsule: CapsuleProcess,
) -> None:
    pages = [
        gemini(capsule, "/")[1], gemini(capsule, "/feed.gmi")[1],
        gemini(capsule, "/archive/2026/01/")[1], gemini(capsule, "/atom.xml")[1],
        gemini(capsule, "/pub/")[1],
        http(capsule, "/")[2], http(capsule, "/feed.html")[2], http(capsule, "/sitemap.xml")[2],
        http(capsule, "/pub/")[2],
    ]
    assert "Public news" in pages[0]
    for page in pages:
        for title in TITLES:
            assert title not in page
        assert "leak" not in page and "mdir" not in page
    for word in WORDS:
        found = gemini(capsule, f"/search?{word}")[1]
        assert "No pages match" in found, word
        assert "No pages match" in http(capsule, f"/search?q={word}")[2], word


def test_a_meta_file_that_cannot_be_read_closes_its_directory(
    capsule: CapsuleProcess, root: Path
) -> None:
    assert gemini(capsule, "/closed/2026-01-04-shut.gmi")[0][:2] in ("60", "61")
    assert http(capsule, "/closed/2026-01-04-shut.html")[0] == 403
    assert "Closed plans" not in gemini(capsule, "/feed.gmi")[1]
    assert "No pages match" in http(capsule, "/search?q=grouper")[2]
    capsule.wait_for_log("/closed/.meta")


def test_a_meta_file_that_becomes_unreadable_keeps_its_last_rules(
    capsule: CapsuleProcess, root: Path
) -> None:
    assert gemini(capsule, "/members/2026-01-02-secret.gmi")[0].startswith("60 ")
    moved = root / "meta-kept"
    os.replace(root / ".meta", moved)
    (root / ".meta").symlink_to(".meta")
    assert gemini(capsule, "/members/2026-01-02-secret.gmi")[0].startswith("60 ")
    assert http(capsule, "/members/2026-01-02-secret.html")[0] == 403
    assert gemini(capsule, "/drafts/2026-01-02-plan.gmi")[0].startswith("60 ")
    assert gemini(capsule, "/later/2026-01-02-soon.gmi")[0].startswith("51 ")
    if os.geteuid() != 0:
        (root / ".meta").unlink()
        os.replace(moved, root / ".meta")
        (root / ".meta").chmod(0)
        assert gemini(capsule, "/members/2026-01-02-secret.gmi")[0].startswith("60 ")
        assert gemini(capsule, "/drafts/2026-01-02-plan.gmi")[0].startswith("60 ")


def test_a_meta_file_saved_in_place_never_opens_what_it_protects(
    capsule: CapsuleProcess, root: Path
) -> None:
    meta = root / ".meta"
    text = meta.read_text()
    stop = threading.Event()

    def save_in_place() -> None:
        # Truncate, then write, as some editors save; over and over.
        while not stop.is_set():
            with meta.open("w") as file:
                file.flush()
                file.write(text)

    saving = threading.Thread(target=save_in_place)
    saving.start()
    try:
        answers = [gemini(capsule, "/members/2026-01-02-secret.gmi")[0][:2] for _ in range(150)]
    finally:
        stop.set()
        saving.join()
    assert set(answers) == {"60"}


def test_capsule_build_writes_nothing_a_symlink_would_leak(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = capsule_command(
        "build", str(out), "--root", str(root), "--state-dir", str(tmp_path / "build-state")
    )
    assert done.returncode == 0, done.stderr
    written = [path for path in out.rglob("*") if path.is_file()]
    assert any("public" in path.name for path in written)
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for word in (*WORDS, *TITLES, "protect=any"):
            assert word not in text, (path, word)


# Titan ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def author(tmp_path_factory: pytest.TempPathFactory) -> ClientIdentity:
    return openssl_req_identity(tmp_path_factory.mktemp("author"), "notes-author")


@pytest.fixture
def titan_capsule(root: Path, tmp_path: Path, author: ClientIdentity) -> Iterator[CapsuleProcess]:
    link(root, "/notes/linkfile.gmi", "../members/2026-01-02-secret.gmi")
    link(root, "/notes/tomembers", "../members")
    link(root, "/notes/todrafts", "../drafts")
    config = tmp_path / "capsule.toml"
    config.write_text(
        f'[[titan]]\npaths = ["/notes/"]\nidentities = ["{fingerprint(author)}"]\n'
        "allow_delete = true\n"
    )
    with CapsuleProcess(
        "--config", str(config), "--root", str(root), "--listen", "127.0.0.1:0", "--no-http",
        "--requests-per-second", "0", state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as process:
        yield process


def send(capsule: CapsuleProcess, author: ClientIdentity, path: str, body: bytes) -> bytes:
    port = capsule.gemini_port
    answer = upload(port, titan_url(port, path, len(body)).encode() + b"\r\n" + body, author)
    assert answer is not None
    return answer.header


def test_a_titan_grant_holds_for_the_file_written_through_a_symlink(
    titan_capsule: CapsuleProcess, author: ClientIdentity, root: Path
) -> None:
    secret = root / "members" / "2026-01-02-secret.gmi"

    def written(path: str, body: bytes) -> bool:
        return send(titan_capsule, author, path, body)[:2] in (b"20", b"30")

    assert written("/notes/mine.gmi", b"# Mine\n")
    assert not written("/notes/linkfile.gmi", b"# Owned\n")
    assert secret.read_text() == SECRET
    for path in ("/notes/tomembers/new.gmi", "/notes/tomembers/deep/new.gmi",
                 "/notes/todrafts/new.gmi"):
        assert not written(path, b"# New\n"), path
    assert not (root / "members" / "new.gmi").exists()
    assert not (root / "members" / "deep").exists()
    assert not (root / "drafts" / "new.gmi").exists()
    assert not written("/notes/linkfile.gmi", b"")
    assert not written("/notes/tomembers/2026-01-02-secret.gmi", b"")
    assert secret.read_text() == SECRET
    assert written("/notes/mine.gmi", b"")
