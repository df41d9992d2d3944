"""Titan uploads to a Gemini server over real TLS on loopback: writes, refusals, bodies that are
short, long or late, deletions, versions, and one access-log line for every upload."""

from __future__ import annotations

import datetime
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import trio

from capsule.authoring.versions import DELETED_SUFFIX, Versions
from capsule.rules.upload_policy import UploadRule
from server.accesslog import AccessLog
from server.settings.config import LimitSettings, TitanPaths
from tests.harness import RunningServer, StartServer, fetch
from tests.titan_client import Answer, fingerprint, leftovers, titan_url, upload
from tests.tls_harness import ClientIdentity, build_client_identity

PAGE = b"# Fresh page\n\nWritten over Titan.\n"


@dataclass
class Titan:
    """A running server open to uploads, its root, its identities and its access log."""

    server: RunningServer
    root: Path
    editor: ClientIdentity  # may write /notes/ and /drafts/
    stranger: ClientIdentity  # listed nowhere
    expired: ClientIdentity  # listed, past its dates
    access_log: AccessLog
    log: io.StringIO
    """Where `access_log` writes its batches."""

    @property
    def port(self) -> int:
        return self.server.port

    async def send(
        self, path: str, body: bytes, identity: ClientIdentity | None = None, *,
        size: int | None = None, end: str = "wait",
    ) -> Answer | None:
        """Upload `body` to `path` announcing `size` (its length unless given)."""
        line = titan_url(self.port, path, len(body) if size is None else size)
        request = line.encode() + b"\r\n" + body
        return await trio.to_thread.run_sync(
            partial(upload, self.port, request, identity, end=end)
        )

    async def put(
        self, path: str, body: bytes, *, size: int | None = None, end: str = "wait"
    ) -> Answer:
        """Upload as the editor; the server must answer."""
        answer = await self.send(path, body, self.editor, size=size, end=end)
        assert answer is not None
        return answer

    async def logged(self, count: int) -> list[list[str]]:
        """The first `count` access-log lines, split in fields. A line is logged when the
        server's side of the connection ends, which may be just after the client has read
        its answer: poll for it, with a deadline, sending each batch at once."""
        with trio.fail_after(10):
            while True:
                self.access_log.flush()
                if len(lines := self.log.getvalue().splitlines()) >= count:
                    break
                await trio.sleep(0.01)
        return [line.split() for line in lines]


Start = Callable[..., Awaitable[Titan]]


@pytest.fixture
def start_titan(start_server: StartServer, capsule_root: Path, tmp_path: Path) -> Start:
    async def start(limits: LimitSettings | None = None) -> Titan:
        editor = build_client_identity(tmp_path, "editor")
        stranger = build_client_identity(tmp_path, "stranger")
        now = datetime.datetime.now(datetime.UTC)
        expired = build_client_identity(
            tmp_path, "expired", not_before=now - datetime.timedelta(days=9),
            not_after=now - datetime.timedelta(days=1),
        )
        listed = frozenset(fingerprint(each).removeprefix("sha256:") for each in (editor, expired))
        rules = (
            TitanPaths(UploadRule(("notes/", "docs/", ".well-known/"), listed, max_bytes=4096)),
            TitanPaths(
                UploadRule(
                    ("drafts/",), listed, max_bytes=4096, allow_delete=True, keep_versions=2
                )
            ),
            TitanPaths(UploadRule(("big/",), listed, max_bytes=4 * 1024 * 1024)),
        )
        server = await start_server(
            limits=limits or LimitSettings(requests_per_second=0), titan=rules
        )
        log = io.StringIO()
        server.server.access_log = AccessLog(log)
        return Titan(
            server, capsule_root, editor, stranger, expired, server.server.access_log, log
        )

    return start


@pytest.fixture
async def titan(start_titan: Start) -> Titan:
    return await start_titan()


@pytest.fixture(autouse=True)
def no_temporary_files_are_left(capsule_root: Path) -> object:
    yield
    assert leftovers(capsule_root) == []


# --- writing -----------------------------------------------------------------------------------


async def test_an_upload_writes_the_file_and_redirects_to_it(titan: Titan) -> None:
    answer = await titan.put("/notes/fresh.gmi", PAGE)
    assert answer.header == f"30 gemini://localhost:{titan.port}/notes/fresh.gmi".encode()
    assert answer.close_notify
    assert (titan.root / "notes" / "fresh.gmi").read_bytes() == PAGE
    response = await fetch(titan.port, f"gemini://localhost:{titan.port}/notes/fresh.gmi")
    assert (response.status, response.body) == (20, PAGE)


async def test_replacing_a_file_keeps_the_previous_version(titan: Titan) -> None:
    await titan.put("/notes/page.gmi", b"# First\n")
    answer = await titan.put("/notes/page.gmi", b"# Second\n")
    assert answer.status == 30
    assert (titan.root / "notes" / "page.gmi").read_bytes() == b"# Second\n"
    kept = Versions(titan.root).of("notes/page.gmi")
    assert [version.read_bytes() for version in kept] == [b"# First\n"]
    response = await fetch(titan.port, f"gemini://localhost:{titan.port}/.versions/")
    assert response.status == 51  # history is never served


async def test_a_directory_upload_writes_its_index_page(titan: Titan) -> None:
    answer = await titan.put("/docs/", b"# Docs, edited\n")
    assert answer.header == f"30 gemini://localhost:{titan.port}/docs/".encode()
    assert (titan.root / "docs" / "index.gmi").read_bytes() == b"# Docs, edited\n"
    assert [v.read_bytes() for v in Versions(titan.root).of("docs/index.gmi")] == [b"# Docs\n"]


async def test_a_one_megabyte_file_arrives_whole(titan: Titan) -> None:
    data = bytes(range(256)) * 4096
    answer = await titan.put("/big/blob.bin", data)
    assert answer.status == 30
    assert (titan.root / "big" / "blob.bin").read_bytes() == data


# --- who may upload where ----------------------------------------------------------------------


async def test_without_a_certificate_is_60(titan: Titan) -> None:
    answer = await titan.send("/notes/x.gmi", PAGE)
    assert answer is not None
    assert answer.header == b"60 A client certificate is needed to upload here"


async def test_a_certificate_not_listed_is_61(titan: Titan) -> None:
    answer = await titan.send("/notes/x.gmi", PAGE, titan.stranger)
    assert answer is not None and answer.status == 61


async def test_a_listed_certificate_outside_its_dates_is_62(titan: Titan) -> None:
    answer = await titan.send("/notes/x.gmi", PAGE, titan.expired)
    assert answer is not None and answer.status == 62
    assert not (titan.root / "notes").exists()


@pytest.mark.parametrize("path", ["/index.gmi", "/elsewhere/x.gmi", "/notes.gmi"])
async def test_a_path_no_rule_opens_is_50(titan: Titan, path: str) -> None:
    answer = await titan.put(path, PAGE)
    assert answer.header == b"50 Uploads are not accepted at this path"
    assert (titan.root / "index.gmi").read_text() == "# Welcome\n=> docs/ Docs\n"


async def test_a_dotfile_is_never_written(titan: Titan) -> None:
    answer = await titan.put("/notes/.meta", b"x gone\n")
    assert answer.status == 50 and "no dotfiles" in answer.meta
    assert not (titan.root / "notes").exists()


async def test_well_known_is_written_as_it_is_served(titan: Titan) -> None:
    assert (await titan.put("/.well-known/security.txt", b"Contact: mailto:a@b\n")).status == 30


@pytest.mark.parametrize("path", ["/notes/../../outside.gmi", "/notes/%2e%2e/%2e%2e/outside.gmi"])
async def test_a_path_climbing_out_of_the_root_is_59(titan: Titan, path: str) -> None:
    answer = await titan.put(path, PAGE)
    assert answer.status == 59
    assert not (titan.root.parent / "outside.gmi").exists()


async def test_a_symlink_leading_out_of_the_root_is_not_written_through(
    titan: Titan, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.gmi").write_text("untouched\n")
    (titan.root / "notes").mkdir()
    (titan.root / "notes" / "away").symlink_to(outside, target_is_directory=True)
    (titan.root / "notes" / "link.gmi").symlink_to(outside / "target.gmi")
    assert (await titan.put("/notes/away/new.gmi", PAGE)).status == 50
    assert (await titan.put("/notes/link.gmi", PAGE)).status == 50
    assert sorted(path.name for path in outside.iterdir()) == ["target.gmi"]
    assert (outside / "target.gmi").read_text() == "untouched\n"


async def test_another_host_is_53(titan: Titan) -> None:
    request = f"titan://example.org:{titan.port}/notes/a.gmi;size=1\r\nx".encode()
    answer = await trio.to_thread.run_sync(upload, titan.port, request, titan.editor)
    assert answer is not None and answer.status == 53


# --- sizes and bodies --------------------------------------------------------------------------


async def test_a_size_over_the_limit_is_refused_before_the_body(titan: Titan) -> None:
    answer = await titan.put("/notes/huge.gmi", b"", size=10**9)
    assert answer.header == b"50 Upload of 1000000000 bytes refused: at most 4096 bytes here"
    assert not (titan.root / "notes").exists()


async def test_a_client_sending_a_refused_body_still_reads_the_answer(titan: Titan) -> None:
    body = b"x" * (2 * 1024 * 1024)
    answer = await titan.put("/notes/huge.gmi", body)
    assert answer.status == 50 and answer.close_notify
    answer = await titan.send("/notes/huge.gmi", body, titan.stranger)
    assert answer is not None and answer.status == 61


async def test_a_body_shorter_than_its_size_is_59_and_writes_nothing(titan: Titan) -> None:
    answer = await titan.put("/notes/short.gmi", b"# Only half", size=100, end="close_notify")
    assert answer.header == b"59 Upload ended after 11 of its 100 bytes"
    assert not (titan.root / "notes" / "short.gmi").exists()
    assert not (titan.root / "notes").exists()


async def test_a_connection_closed_mid_body_writes_nothing_and_is_logged(titan: Titan) -> None:
    answer = await titan.send("/notes/cut.gmi", b"# Cut", titan.editor, size=100, end="tcp")
    assert answer is None
    assert not (titan.root / "notes").exists()
    (line,) = await titan.logged(1)
    assert line[1:6] == ["titan", "127.0.0.1", "localhost", "/notes/cut.gmi", "-"]
    assert line[8] == fingerprint(titan.editor)


async def test_a_body_longer_than_its_size_is_59_and_the_file_is_unchanged(titan: Titan) -> None:
    await titan.put("/notes/page.gmi", b"# Kept\n")
    answer = await titan.put("/notes/page.gmi", b"# Longer than said\n", size=5)
    assert answer.header == b"59 Upload longer than its size of 5 bytes"
    assert (titan.root / "notes" / "page.gmi").read_bytes() == b"# Kept\n"
    assert Versions(titan.root).of("notes/page.gmi") == []


async def test_a_body_that_does_not_arrive_in_time_is_59(start_titan: Start) -> None:
    titan = await start_titan(LimitSettings(requests_per_second=0, upload_timeout=0.3))
    # The client sends half its body and waits for the answer: the deadline gives it.
    answer = await titan.put("/notes/slow.gmi", b"# Half", size=100)
    assert answer.header == b"59 Upload not complete within 0.3 seconds"
    assert not (titan.root / "notes").exists()


# --- deleting ----------------------------------------------------------------------------------


async def test_size_zero_deletes_where_allowed_and_keeps_the_last_version(titan: Titan) -> None:
    await titan.put("/drafts/idea.gmi", b"# Idea\n")
    answer = await titan.put("/drafts/idea.gmi", b"")
    assert answer.header == b"20 text/gemini; charset=utf-8"
    assert b"/drafts/idea.gmi was deleted" in answer.body
    assert not (titan.root / "drafts" / "idea.gmi").exists()
    (kept,) = Versions(titan.root).of("drafts/idea.gmi")
    assert kept.name.endswith(DELETED_SUFFIX) and kept.read_bytes() == b"# Idea\n"
    response = await fetch(titan.port, f"gemini://localhost:{titan.port}/drafts/idea.gmi")
    assert response.status == 51


async def test_a_deletion_removes_the_directories_it_empties_below_the_granted_one(
    titan: Titan,
) -> None:
    await titan.put("/drafts/2026/01/idea.gmi", b"# Idea\n")
    assert (await titan.put("/drafts/2026/01/idea.gmi", b"")).status == 20
    assert not (titan.root / "drafts" / "2026").exists()
    assert (titan.root / "drafts").is_dir()


async def test_versions_beyond_keep_versions_are_pruned_after_each_write(titan: Titan) -> None:
    for text in (b"# One\n", b"# Two\n", b"# Three\n", b"# Four\n"):
        assert (await titan.put("/drafts/idea.gmi", text)).status == 30
    kept = Versions(titan.root).of("drafts/idea.gmi")
    assert [version.read_bytes() for version in kept] == [b"# Two\n", b"# Three\n"]
    assert (await titan.put("/drafts/idea.gmi", b"")).status == 20
    kept = Versions(titan.root).of("drafts/idea.gmi")
    assert [version.read_bytes() for version in kept] == [b"# Three\n", b"# Four\n"]


async def test_size_zero_is_refused_where_deleting_is_not_allowed(titan: Titan) -> None:
    await titan.put("/notes/stays.gmi", b"# Stays\n")
    answer = await titan.put("/notes/stays.gmi", b"")
    assert answer.header == b"50 Deleting (size=0) is not allowed here"
    assert (titan.root / "notes" / "stays.gmi").read_bytes() == b"# Stays\n"


async def test_deleting_what_is_not_there_is_51(titan: Titan) -> None:
    assert (await titan.put("/drafts/never.gmi", b"")).status == 51
    assert not (titan.root / "drafts").exists()


# --- the access log ----------------------------------------------------------------------------


async def test_every_upload_is_logged_as_titan_with_its_certificate(titan: Titan) -> None:
    await titan.put("/notes/a.gmi", PAGE)
    await titan.send("/notes/a.gmi", PAGE)
    await titan.send("/notes/a.gmi", PAGE, titan.stranger)
    await titan.put("/index.gmi", PAGE)
    await titan.put("/notes/a.gmi", PAGE, size=3)
    lines = await titan.logged(5)
    assert [(line[1], line[4], line[5]) for line in lines] == [
        ("titan", "/notes/a.gmi", "30"),
        ("titan", "/notes/a.gmi", "60"),
        ("titan", "/notes/a.gmi", "61"),
        ("titan", "/index.gmi", "50"),
        ("titan", "/notes/a.gmi", "59"),
    ]
    shown = [line[8] if len(line) > 8 else None for line in lines]
    editor, stranger = fingerprint(titan.editor), fingerprint(titan.stranger)
    assert shown == [editor, None, stranger, editor, editor]
