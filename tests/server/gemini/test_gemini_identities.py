"""Client certificates on a running `capsule serve`: 60, 61, 62 and 20 for protected paths,
with certificates from `openssl req` and cryptography's builder, on TLS 1.2 and 1.3, with and
without SNI, and the fingerprint in the access log for protected paths only."""

from __future__ import annotations

import datetime
import hashlib
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import CapsuleProcess, write_page
from tests.tls_harness import (
    ClientIdentity,
    build_client_identity,
    client_context,
    fetch,
    openssl_req_identity,
)

VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]
SERVER_NAMES = ["localhost", None]


@dataclass(frozen=True)
class Cast:
    """The running server and the client identities of these tests."""

    capsule: CapsuleProcess
    member: ClientIdentity  # listed, made with cryptography's builder
    editor: ClientIdentity  # listed, made with `openssl req`
    stranger: ClientIdentity  # not listed
    expired: ClientIdentity  # listed, but past its validity dates
    early: ClientIdentity  # listed, but not valid yet


def fingerprint(identity: ClientIdentity) -> str:
    return "sha256:" + hashlib.sha256(identity.der()).hexdigest()


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    base = tmp_path_factory.mktemp("identities")
    now = datetime.datetime.now(datetime.UTC)
    member = build_client_identity(base, "member")
    editor = openssl_req_identity(base, "editor")
    stranger = build_client_identity(base, "stranger")
    expired = build_client_identity(
        base, "expired", not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    early = build_client_identity(base, "early", not_before=now + datetime.timedelta(days=1))
    root = base / "root"
    write_page(root, "/index.gmi", "# Front page\n")
    write_page(root, "/members/index.gmi", "# Members only\n")
    write_page(root, "/lounge/index.gmi", "# Any identity\n")
    write_page(root, "/board/index.gmi", "# The board\n")
    write_page(root, "/board/.meta", f"/ protect={fingerprint(member)}\n")
    listed = [fingerprint(each) for each in (member, editor, expired, early)]
    # Written the ways operators copy them: upper case with colons, as openssl prints them.
    upper = ":".join(f"{byte:02X}" for byte in bytes.fromhex(listed[1].removeprefix("sha256:")))
    config = base / "capsule.toml"
    config.write_text(
        f'[[protect]]\npaths = ["/members/"]\n'
        f'identities = ["{listed[0]}", "{upper}", "{listed[2]}", "{listed[3]}"]\n\n'
        '[[protect]]\npaths = ["/lounge/"]\nidentities = "any"\n'
    )
    with CapsuleProcess(
        "--config", str(config), "--root", str(root), "--listen", "127.0.0.1:0", "--no-http",
        "--requests-per-second", "0", "--access-log-flush", "0.05",
        state_dir=base / "state", log_dir=base,
    ) as capsule:
        yield Cast(capsule, member, editor, stranger, expired, early)


def ask(
    cast: Cast,
    path: str,
    identity: ClientIdentity | None = None,
    version: ssl.TLSVersion | None = None,
    server_name: str | None = "localhost",
) -> bytes:
    """The response header for `path`, asked with `identity`."""
    context = client_context(version, identity)
    request = f"gemini://localhost{path}\r\n".encode()
    result = fetch(cast.capsule.gemini_port, context, server_name, request=request)
    assert result.close_notify
    return result.response.partition(b"\r\n")[0]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("server_name", SERVER_NAMES)
def test_no_certificate_is_60(
    cast: Cast, version: ssl.TLSVersion, server_name: str | None
) -> None:
    header = ask(cast, "/members/", None, version, server_name)
    assert header == b"60 A client certificate is needed for this page"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("server_name", SERVER_NAMES)
def test_listed_certificates_are_served(
    cast: Cast, version: ssl.TLSVersion, server_name: str | None
) -> None:
    for identity in (cast.member, cast.editor):
        header = ask(cast, "/members/", identity, version, server_name)
        assert header.startswith(b"20 text/gemini")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_certificate_not_listed_is_61(cast: Cast, version: ssl.TLSVersion) -> None:
    header = ask(cast, "/members/", cast.stranger, version)
    assert header.startswith(b"61 ")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_certificate_outside_its_dates_is_62(cast: Cast, version: ssl.TLSVersion) -> None:
    assert ask(cast, "/members/", cast.expired, version).startswith(b"62 ")
    assert ask(cast, "/members/", cast.early, version).startswith(b"62 ")


def test_any_certificate_opens_a_path_protected_for_any(cast: Cast) -> None:
    assert ask(cast, "/lounge/").startswith(b"60 ")
    assert ask(cast, "/lounge/", cast.stranger).startswith(b"20 ")


def test_a_meta_file_protects_over_gemini_too(cast: Cast) -> None:
    assert ask(cast, "/board/").startswith(b"60 ")
    assert ask(cast, "/board/", cast.editor).startswith(b"61 ")
    assert ask(cast, "/board/", cast.member).startswith(b"20 ")


def test_public_pages_do_not_care_about_certificates(cast: Cast) -> None:
    assert ask(cast, "/").startswith(b"20 ")
    assert ask(cast, "/", cast.stranger).startswith(b"20 ")


def test_the_access_log_shows_fingerprints_for_protected_paths_only(cast: Cast) -> None:
    ask(cast, "/", cast.member)
    ask(cast, "/members/")
    ask(cast, "/members/", cast.stranger)
    assert ask(cast, "/members/last.gmi", cast.member).startswith(b"51 ")
    lines = logged_until(cast.capsule.stdout_path, "/members/last.gmi")
    everyone = (cast.member, cast.editor, cast.stranger, cast.expired, cast.early)
    shown = {fingerprint(each) for each in everyone}
    for fields in (line.split() for line in lines):
        path, status = fields[4], fields[5]
        certificate = fields[8] if len(fields) > 8 else None
        if path.startswith(("/members/", "/lounge/", "/board/")) and status != "60":
            assert certificate in shown, fields
        else:
            assert certificate is None, fields
    assert lines[-1].split()[8] == fingerprint(cast.member)


def logged_until(stdout: Path, path: str) -> list[str]:
    """The access log up to the line for `path` (lines are written in batches)."""
    deadline = time.monotonic() + 10
    while True:
        lines = stdout.read_text().splitlines()
        if any(line.split()[4] == path for line in lines):
            return lines
        assert time.monotonic() < deadline, lines
        time.sleep(0.02)
