"""A real `capsule serve --https` with the operator's certificates from --cert-dir."""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from certs import create_self_signed
from certs.layout import operator_files, self_signed_files
from tests.harness import CapsuleProcess, write_capsule

OPERATOR, OTHER = "example.org", "news.example.org"


@pytest.fixture(scope="module")
def capsule(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CapsuleProcess]:
    directory = tmp_path_factory.mktemp("https")
    root = write_capsule(directory / "root")
    files = operator_files(directory / "certs", OPERATOR)
    files.directory.mkdir(parents=True)
    create_self_signed([OPERATOR], files.cert, files.key)
    with CapsuleProcess(
        *("--root", str(root), "--host", OPERATOR, "--host", OTHER, "--no-index"),
        *("--cert-dir", str(directory / "certs"), "--listen", "127.0.0.1:0"),
        *("--http", "127.0.0.1:0", "--https", "127.0.0.1:0"),
        state_dir=directory / "state",
        log_dir=directory,
    ) as process:
        yield process


def https_port(capsule: CapsuleProcess) -> int:
    for url in capsule.urls:
        if url.startswith("https://"):
            return int(url.rsplit(":", 1)[1])
    raise AssertionError(capsule.urls)


def handshake(capsule: CapsuleProcess, name: str, trusted: Path) -> tuple[bytes, bytes]:
    """The certificate served for `name`, verified against `trusted`, and a GET's answer."""
    context = ssl.create_default_context(cafile=str(trusted))
    with (
        socket.create_connection(("127.0.0.1", https_port(capsule)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        der = tls.getpeercert(binary_form=True)
        response = http.client.HTTPResponse(tls)  # type: ignore[arg-type]
        response.begin()
        status_line = f"{response.status}".encode()
        response.read()
    assert der is not None
    return der, status_line


def pem_to_der(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


def test_the_operators_certificate_is_served_for_its_host(capsule: CapsuleProcess) -> None:
    cert = operator_files(capsule.state_dir.parent / "certs", OPERATOR).cert
    der, status = handshake(capsule, OPERATOR, cert)
    assert der == pem_to_der(cert)
    assert status == b"200"


def test_a_host_without_operator_files_gets_its_self_signed_certificate(
    capsule: CapsuleProcess,
) -> None:
    cert = self_signed_files(capsule.state_dir, OTHER).cert
    der, status = handshake(capsule, OTHER, cert)
    assert der == pem_to_der(cert)
    assert status == b"200"


def test_plain_http_redirects_to_https(capsule: CapsuleProcess) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", capsule.http_port, timeout=10)
    connection.request("GET", "/docs/", headers={"Host": OPERATOR})
    response = connection.getresponse()
    connection.close()
    assert response.status == 308
    assert response.getheader("Location") == f"https://{OPERATOR}:{https_port(capsule)}/docs/"


def test_without_hsts_max_age_no_hsts_header_is_sent(capsule: CapsuleProcess) -> None:
    context = ssl.create_default_context(
        cafile=str(operator_files(capsule.state_dir.parent / "certs", OPERATOR).cert)
    )
    connection = http.client.HTTPSConnection("127.0.0.1", https_port(capsule), context=context)
    context.check_hostname = False
    connection.request("GET", "/", headers={"Host": OPERATOR})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") is None
