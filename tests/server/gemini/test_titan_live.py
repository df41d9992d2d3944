"""The README's publishing loop on a real `capsule serve`: an identity from `openssl req`, its
fingerprint as `openssl x509` prints it in a `[[titan]]` table, the README's `openssl s_client`
upload, and the article on every index of both protocols within the quick interval."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from OpenSSL import SSL

from capsule.authoring.versions import Versions
from tests.harness import CapsuleProcess, write_page
from tests.server.gemini.test_publication_live import atom_links, eventually, gemini, http
from tests.titan_client import fingerprint, titan_url, upload
from tests.tls_harness import DEADLINE, ClientIdentity, openssl_req_identity

README = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
ARTICLE = "/2026/01/05/hello.gmi"
PAGE = "# Hello from Titan\nWritten on my laptop, published without a shell on the server.\n"


@pytest.fixture(scope="module")
def author(tmp_path_factory: pytest.TempPathFactory) -> ClientIdentity:
    return openssl_req_identity(tmp_path_factory.mktemp("author"), "alice")


def openssl_fingerprint(identity: ClientIdentity) -> str:
    """The fingerprint as the README tells authors to read it: `openssl x509 -fingerprint`."""
    printed = subprocess.run(
        ["openssl", "x509", "-in", str(identity.cert), "-noout", "-fingerprint", "-sha256"],
        capture_output=True, text=True, check=True, timeout=DEADLINE,
    ).stdout
    return printed.strip().partition("=")[2]


@pytest.fixture
def capsule(tmp_path: Path, author: ClientIdentity) -> Iterator[CapsuleProcess]:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Garden News\n{{recent 5}}\n")
    write_page(root, "/2026/01/01/older.gmi", "# An older article\n")
    config = tmp_path / "capsule.toml"
    config.write_text(
        '[[titan]]\npaths = ["/2026/", "/notes/"]\n'
        f'identities = ["{openssl_fingerprint(author)}"]\nallow_delete = true\n'
    )
    with CapsuleProcess(
        "--config", str(config), "--root", str(root), "--listen", "127.0.0.1:0",
        "--http", "127.0.0.1:0", "--index-interval", "0.2", "--full-index-interval", "1",
        "--requests-per-second", "0",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as process:
        yield process


def readme_upload_command(port: int) -> tuple[str, str]:
    """The README's command-line upload, pointed at this server, and the answer it shows."""
    section = README[README.index("## Publishing with Titan") :]
    block = re.search(r"```sh\n(.*?openssl s_client.*?)```", section, re.DOTALL)
    assert block, "no openssl s_client example under Publishing with Titan"
    command, _, shown = block.group(1).rpartition("# ")
    command = (
        command.replace("example.org:1965", f"localhost:{port}")
        .replace("titan://example.org/", f"titan://localhost:{port}/")
        .replace("-servername example.org", "-servername localhost")
    )
    return command, shown.strip().replace("example.org", f"localhost:{port}")


def everywhere(capsule: CapsuleProcess, title: str) -> list[bool]:
    """Where the article shows, on Gemini then on the mirror."""
    mirror_page = ARTICLE.replace(".gmi", ".html")
    return [
        title in gemini(capsule, ARTICLE)[1],
        title in gemini(capsule, "/")[1],
        title in gemini(capsule, "/feed.gmi")[1],
        title in gemini(capsule, "/archive/2026/01/")[1],
        any(ARTICLE in link for link in atom_links(gemini(capsule, "/atom.xml")[1])),
        ARTICLE in gemini(capsule, "/search?laptop")[1],
        title in http(capsule, mirror_page)[2],
        title in http(capsule, "/feed.html")[2],
        title in http(capsule, "/archive/2026/01/")[2],
        mirror_page in http(capsule, "/atom.xml")[2],
        mirror_page in http(capsule, "/search?q=laptop")[2],
    ]


def test_the_readme_upload_publishes_an_article_on_both_protocols(
    capsule: CapsuleProcess, author: ClientIdentity, tmp_path: Path
) -> None:
    eventually(lambda: "An older article" in gemini(capsule, "/feed.gmi")[1])
    work = author.cert.parent
    (work / "hello.gmi").write_text(PAGE)
    command, shown = readme_upload_command(capsule.gemini_port)
    command = command.replace("2026/01/05/hello.gmi", ARTICLE.lstrip("/"))
    done = subprocess.run(
        ["bash", "-c", command], cwd=work, capture_output=True, text=True, timeout=DEADLINE
    )
    assert done.stdout.strip() == shown, done.stderr
    assert (capsule_root(capsule) / ARTICLE.lstrip("/")).read_text() == PAGE
    eventually(lambda: all(everywhere(capsule, "Hello from Titan")))


def test_a_replaced_then_deleted_article_follows_on_both_protocols(
    capsule: CapsuleProcess, author: ClientIdentity
) -> None:
    port = capsule.gemini_port

    def send(body: bytes) -> bytes:
        request = titan_url(port, ARTICLE, len(body)).encode() + b"\r\n" + body
        answer = upload(port, request, author)
        assert answer is not None
        return answer.header

    assert send(PAGE.encode()) == f"30 gemini://localhost:{port}{ARTICLE}".encode()
    eventually(lambda: all(everywhere(capsule, "Hello from Titan")))
    edited = PAGE.replace("Hello from Titan", "Hello again from Titan")
    assert send(edited.encode()).startswith(b"30 ")
    eventually(lambda: all(everywhere(capsule, "Hello again from Titan")))
    root = capsule_root(capsule)
    assert [v.read_text() for v in Versions(root).of(ARTICLE.lstrip("/"))] == [PAGE]
    history = f"/.versions{ARTICLE}/"
    assert gemini(capsule, history)[0].startswith("51 ") and http(capsule, history)[0] == 404
    assert send(b"").startswith(b"20 ")
    eventually(lambda: not any(everywhere(capsule, "Hello again from Titan")))
    assert len(Versions(root).of(ARTICLE.lstrip("/"))) == 2


def capsule_root(capsule: CapsuleProcess) -> Path:
    return Path(capsule.args[capsule.args.index("--root") + 1])


def refused_then_closed(port: int, request: bytes) -> tuple[bytes, bytes]:
    """Send a Titan request line without a certificate and without its body; the answer, then
    what the TCP connection yields after it (b"" once the server has closed)."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_verify(SSL.VERIFY_NONE, lambda *args: True)
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as raw:
        raw.settimeout(None)  # pyOpenSSL wants a blocking socket
        connection = SSL.Connection(context, raw)
        connection.set_tlsext_host_name(b"localhost")
        connection.set_connect_state()
        connection.do_handshake()
        connection.sendall(request)
        answer = bytearray()
        with contextlib.suppress(SSL.ZeroReturnError):
            while chunk := connection.recv(4096):
                answer += chunk
        # The answer ended with close_notify; now wait for the server's FIN, well past the
        # request timeout and well before the upload timeout.
        raw.settimeout(AFTER_REFUSAL)
        return bytes(answer), raw.recv(1)


AFTER_REFUSAL = 20.0


def test_a_refused_upload_is_closed_within_the_request_timeout(tmp_path: Path) -> None:
    """A claimed body of a gigabyte, no certificate, no [[titan]] table: the server answers and
    closes within request_timeout, instead of waiting for that body for upload_timeout."""
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Home\n")
    with CapsuleProcess(
        "--root", str(root), "--listen", "127.0.0.1:0", "--no-http",
        "--request-timeout", "1", "--upload-timeout", "300",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        line = titan_url(capsule.gemini_port, "/notes/a.gmi", 10**9).encode() + b"\r\n"
        answer, after = refused_then_closed(capsule.gemini_port, line)
    assert answer.startswith(b"50 ")
    assert after == b""


def test_each_write_and_deletion_names_the_identity_on_standard_error(
    capsule: CapsuleProcess, author: ClientIdentity
) -> None:
    port = capsule.gemini_port
    for body in (PAGE.encode(), b""):
        request = titan_url(port, ARTICLE, len(body)).encode() + b"\r\n" + body
        answer = upload(port, request, author)
        assert answer is not None and answer.status in (20, 30)
    capsule.wait_for_log(" deleted ")
    fingerprint = "sha256:" + openssl_fingerprint(author).replace(":", "").lower()
    [written] = [line for line in capsule.stderr_lines if " wrote " in line]
    [deleted] = [line for line in capsule.stderr_lines if " deleted " in line]
    assert fingerprint in written and fingerprint in deleted


def test_uploads_left_by_a_crash_are_swept_at_start(
    tmp_path: Path, author: ClientIdentity
) -> None:
    """`.upload-*` files older than the upload timeout go, with a log line; a fresh one, maybe
    an upload in progress in another worker, stays."""
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Home\n")
    stale = write_page(root, "/notes/.upload-stale", "half a page")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = write_page(root, "/notes/.upload-fresh", "the start of a page")
    config = tmp_path / "capsule.toml"
    config.write_text(f'[[titan]]\npaths = ["/notes/"]\nidentities = ["{fingerprint(author)}"]\n')
    with CapsuleProcess(
        "--config", str(config), "--root", str(root), "--listen", "127.0.0.1:0", "--no-http",
        "--upload-timeout", "60",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        capsule.wait_for_log("unfinished upload")
    assert not stale.exists() and fresh.exists()
    [line] = [line for line in capsule.stderr_lines if "unfinished upload" in line]
    assert str(stale) in line
