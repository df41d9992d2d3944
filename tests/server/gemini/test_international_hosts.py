"""An international host name (`--host café.example`) served by a real `capsule serve`:
Gemini over TLS and the mirror over HTTP, reached in either form of the name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from cryptography import x509

from certs import read_certificate
from tests.harness import CapsuleProcess, capsule_command, fetch
from tests.server.mirror.mirror_client import send_raw, status_of

CAFE = "xn--caf-dma.example"
CAFE_INDEX = (
    "# Café\n"
    "=> gemini://café.example/menu.gmi The menu\n"
    "=> gemini://XN--CAF-DMA.example/menu.gmi The menu again\n"
)


@pytest.fixture(scope="module")
def capsule(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CapsuleProcess]:
    """café.example (first, with the menu) and localhost (its own root), Gemini and mirror."""
    base = tmp_path_factory.mktemp("international")
    cafe, home = base / "cafe", base / "home"
    cafe.mkdir()
    home.mkdir()
    (cafe / "index.gmi").write_text(CAFE_INDEX, encoding="utf-8")
    (cafe / "menu.gmi").write_text("# Menu\n", encoding="utf-8")
    (home / "index.gmi").write_text("# Home\n", encoding="utf-8")
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-index", "--root", str(cafe),
        "--host", "café.example", "--host", f"localhost={home}",
        state_dir=base / "state", log_dir=base,
    ) as process:
        yield process


def san_names(der: bytes | None) -> list[str]:
    assert der is not None
    certificate = x509.load_der_x509_certificate(der)
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)


@pytest.mark.parametrize(
    "url", ["gemini://café.example/", f"gemini://{CAFE}/", "gemini://CAFÉ.Example./"]
)
def test_request_url_in_unicode_or_punycode_reaches_the_host(
    capsule: CapsuleProcess, url: str
) -> None:
    response = trio.run(fetch, capsule.gemini_port, url, CAFE)
    assert response.status == 20
    assert response.body.decode("utf-8") == CAFE_INDEX


def test_sni_in_punycode_gets_the_certificate_of_that_host(capsule: CapsuleProcess) -> None:
    cafe = trio.run(fetch, capsule.gemini_port, "gemini://café.example/menu.gmi", CAFE)
    home = trio.run(fetch, capsule.gemini_port, "gemini://localhost/", "localhost")
    assert (cafe.status, home.status) == (20, 20)
    assert san_names(cafe.peer_certificate) == [CAFE]
    assert "localhost" in san_names(home.peer_certificate)
    stored = read_certificate(capsule.state_dir / "certs" / CAFE / "cert.pem")
    assert x509.load_der_x509_certificate(cafe.peer_certificate or b"") == stored


def test_self_signed_certificate_names_the_host_in_punycode(capsule: CapsuleProcess) -> None:
    certificate = read_certificate(capsule.state_dir / "certs" / CAFE / "cert.pem")
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [CAFE]
    common_names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert [name.value for name in common_names] == [CAFE]


def test_a_host_not_served_is_refused_in_unicode_too(capsule: CapsuleProcess) -> None:
    response = trio.run(fetch, capsule.gemini_port, "gemini://thé.example/", CAFE)
    assert response.status == 53


def test_logs_show_the_name_in_unicode(capsule: CapsuleProcess, tmp_path: Path) -> None:
    assert re.match(r"gemini://café\.example:\d+/ on 127\.0\.0\.1:\d+$", capsule.urls[0])
    root = tmp_path / "root"
    root.mkdir()
    (root / "index.gmi").write_text("# Here\n")
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--no-http", "--no-index", "--root", str(root),
        "--host", CAFE, state_dir=capsule.state_dir, log_dir=tmp_path,
    ) as process:
        assert trio.run(fetch, process.gemini_port, f"gemini://{CAFE}/", CAFE).status == 20
        assert process.stop() == 0
    (line,) = process.stdout_path.read_text(encoding="utf-8").splitlines()
    assert re.search(r" gemini 127\.0\.0\.1 café\.example / 20 ", line), line


@pytest.mark.parametrize("host", [CAFE.encode(), "café.example".encode(), b"XN--CAF-DMA.example."])
def test_mirror_host_header_in_either_form_reaches_the_host(
    capsule: CapsuleProcess, host: bytes
) -> None:
    request = b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
    raw = trio.run(send_raw, capsule.http_port, request)
    assert status_of(raw) == 200
    page = raw.partition(b"\r\n\r\n")[2].decode("utf-8")
    assert "<h1>Café</h1>" in page
    # Links to the host in either form stay in the mirror.
    assert page.count('href="/menu.html"') == 2
    # People read the name in Unicode; the link carries the form every client can send.
    assert f'<a href="gemini://{CAFE}/">gemini://café.example/</a>' in page


def test_mirror_refuses_an_international_host_it_does_not_serve(capsule: CapsuleProcess) -> None:
    request = "GET / HTTP/1.1\r\nHost: thé.example\r\nConnection: close\r\n\r\n".encode()
    assert status_of(trio.run(send_raw, capsule.http_port, request)) == 421


def test_cert_command_shows_the_name_in_both_forms(capsule: CapsuleProcess) -> None:
    result = capsule_command(
        "cert", "--state-dir", str(capsule.state_dir), "--host", "café.example"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"café.example ({CAFE})"
