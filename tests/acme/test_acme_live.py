"""A real `capsule serve` gets, serves and renews its HTTPS certificates from a real ACME server.

Pebble validates every http-01 challenge against capsule's plain HTTP listener (its DNS answers
127.0.0.1 for the test names) and issues certificates valid for a few seconds, so that capsule
renews them during the test, at two thirds of their life.
"""

from __future__ import annotations

import http.client
import re
import signal
import socket
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from certs.layout import acme_directory, acme_files
from tests.acme.pebble import Pebble
from tests.harness import CapsuleProcess, write_capsule
from tests.programs import free_port

VALIDITY = 9
"""Seconds each certificate is valid: renewed 6 s after it was issued."""
FIRST, SECOND = "a.capsule.test", "b.capsule.test"
_ISSUED = re.compile(r"ACME: certificate for (\S+) \(serial ([0-9a-f]+)\) in ([0-9.]+)s")


@dataclass
class Deployment:
    """Pebble and a capsule serving FIRST over HTTPS with certificates from it."""

    pebble: Pebble
    capsule: CapsuleProcess
    config: Path
    root: bytes
    """Pebble's root certificate (PEM), drawn anew at each of its starts."""

    @property
    def https_port(self) -> int:
        for url in self.capsule.urls:
            if url.startswith("https://"):
                return int(url.rsplit(":", 1)[1])
        raise AssertionError(f"no HTTPS listener in {self.capsule.urls}")

    def issued(self, host: str) -> list[int]:
        """The serials capsule logged for `host`, oldest first."""
        return [
            int(match.group(2), 16)
            for line in self.capsule.stderr_lines
            if (match := _ISSUED.search(line)) and match.group(1) == host
        ]


def config_text(root: Path, *hosts: str) -> str:
    tables = "".join(f'[[hosts]]\nname = "{host}"\n' for host in hosts)
    return f'root = "{root}"\n{tables}'


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("acme")
    root = write_capsule(directory / "root")
    config = directory / "capsule.toml"
    config.write_text(config_text(root, FIRST))
    http_port = free_port()
    with Pebble(directory, http_port, VALIDITY) as pebble:
        capsule = CapsuleProcess(
            *("--config", str(config), "--listen", "127.0.0.1:0", "--no-index"),
            *("--http", f"127.0.0.1:{http_port}", "--https", "127.0.0.1:0"),
            *("--acme-email", "webmaster@capsule.test", "--hsts-max-age", "600"),
            *("--acme-directory", pebble.directory_url, "--acme-ca-bundle", str(pebble.ca_bundle)),
            state_dir=directory / "state",
            log_dir=directory,
        )
        with capsule:
            capsule.wait_for_log(f"ACME: certificate for {FIRST} ", timeout=60)
            yield Deployment(pebble, capsule, config, pebble.root_certificate())


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    certificate: x509.Certificate


def fetch_https(deployment: Deployment, name: str, path: str = "/") -> Fetched:
    """GET `path` from `name` over HTTPS, verifying the chain against Pebble's root."""
    context = ssl.create_default_context(cadata=deployment.root.decode())
    with (
        socket.create_connection(("127.0.0.1", deployment.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        response = http.client.HTTPResponse(tls)  # type: ignore[arg-type]
        response.begin()
        response.read()
    certificate = x509.load_der_x509_certificate(der)
    return Fetched(response.status, dict(response.getheaders()), certificate)


def fetch_http(port: int, name: str, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": name})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def dns_names(cert: x509.Certificate) -> list[str]:
    return cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)


def test_the_certificate_comes_from_the_acme_server_and_is_served_over_https(
    deployment: Deployment,
) -> None:
    fetched = fetch_https(deployment, FIRST)  # verified against Pebble's root, for FIRST
    assert fetched.status == 200
    assert dns_names(fetched.certificate) == [FIRST]
    assert fetched.certificate.serial_number in deployment.issued(FIRST)


def test_https_answers_carry_hsts(deployment: Deployment) -> None:
    assert fetch_https(deployment, FIRST).headers["Strict-Transport-Security"] == "max-age=600"


def test_the_challenge_was_answered_on_the_plain_http_listener(deployment: Deployment) -> None:
    access_log = deployment.capsule.stdout_path.read_text()
    answered = re.findall(r" http \S+ \S+ /\.well-known/acme-challenge/\S+ (\d+) ", access_log)
    assert answered and set(answered) == {"200"}


def test_keys_and_certificates_are_kept_private_in_the_state_directory(
    deployment: Deployment,
) -> None:
    state = deployment.capsule.state_dir
    files = acme_files(state, FIRST)
    for path in (files.cert, files.key, acme_directory(state) / "account.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (files.directory, acme_directory(state)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_plain_http_redirects_to_the_same_url_over_https(deployment: Deployment) -> None:
    response = fetch_http(deployment.pebble.http_port, FIRST, "/docs/?q=1")
    assert response.status == 308
    location = f"https://{FIRST}:{deployment.https_port}/docs/?q=1"
    assert response.getheader("Location") == location


def test_plain_http_answers_an_unknown_challenge_itself_instead_of_redirecting(
    deployment: Deployment,
) -> None:
    response = fetch_http(deployment.pebble.http_port, FIRST, "/.well-known/acme-challenge/x")
    assert response.status == 404


def test_the_certificate_is_renewed_at_two_thirds_of_its_life_without_a_restart(
    deployment: Deployment,
) -> None:
    before = fetch_https(deployment, FIRST).certificate
    pid = deployment.capsule.process.pid if deployment.capsule.process else None
    seen = len(deployment.issued(FIRST))
    deployment.capsule.wait_for_log(f"ACME: certificate for {FIRST} ", timeout=30, count=seen + 1)
    after = fetch_https(deployment, FIRST).certificate
    assert after.serial_number == deployment.issued(FIRST)[-1] != before.serial_number
    lifetime = before.not_valid_after_utc - before.not_valid_before_utc
    two_thirds = before.not_valid_before_utc + lifetime * 2 / 3
    assert after.not_valid_before_utc >= two_thirds - timedelta(seconds=1)
    assert deployment.capsule.process is not None
    assert deployment.capsule.process.pid == pid and deployment.capsule.process.poll() is None


def test_a_host_added_by_a_reload_gets_a_certificate_of_its_own(deployment: Deployment) -> None:
    root = deployment.config.parent / "root"
    deployment.config.write_text(config_text(root, FIRST, SECOND))
    assert deployment.capsule.process is not None
    deployment.capsule.process.send_signal(signal.SIGHUP)
    deployment.capsule.wait_for_log(f"ACME: certificate for {SECOND} ", timeout=30)
    second = fetch_https(deployment, SECOND)
    assert second.status == 200
    assert dns_names(second.certificate) == [SECOND]
    assert second.certificate.serial_number in deployment.issued(SECOND)
    assert dns_names(fetch_https(deployment, FIRST).certificate) == [FIRST]
