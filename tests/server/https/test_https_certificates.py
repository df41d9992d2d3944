"""The HTTPS certificates follow their files: a replaced pair is served without a restart."""

from __future__ import annotations

from pathlib import Path

from certs import create_self_signed
from certs.layout import acme_files, operator_files
from server.https.certificates import CHECK_INTERVAL, HttpsCertificates, acme_hosts, https_identity
from server.settings.config import Config, HostConfig, HttpsSettings, ListenAddress, MirrorSettings


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def config(tmp_path: Path, *hosts: HostConfig, acme: bool = False) -> Config:
    return Config(
        hosts=hosts,
        listen=(ListenAddress("127.0.0.1", 0),),
        state_dir=tmp_path / "state",
        default_root=tmp_path,
        mirror=MirrorSettings(),
        https=HttpsSettings(
            listen=(ListenAddress("127.0.0.1", 0),),
            acme_email="webmaster@example.org" if acme else None,
        ),
    )


def operator_host(tmp_path: Path, name: str) -> HostConfig:
    files = operator_files(tmp_path / "certs", name)
    files.directory.mkdir(parents=True, exist_ok=True)
    create_self_signed([name], files.cert, files.key)
    return HostConfig(name, cert=files.cert, key=files.key)


def test_a_replaced_operator_certificate_is_served_from_the_next_check_on(
    tmp_path: Path,
) -> None:
    clock = Clock()
    host = operator_host(tmp_path, "example.org")
    certificates = HttpsCertificates(config(tmp_path, host), clock)
    first = certificates.contexts()
    operator_host(tmp_path, "example.org")  # a renewal writes a new pair in place
    clock.now += CHECK_INTERVAL / 2
    assert certificates.contexts() is first
    clock.now += CHECK_INTERVAL
    assert certificates.contexts() is not first


def test_a_key_that_does_not_match_keeps_the_current_certificates(tmp_path: Path) -> None:
    clock = Clock()
    host = operator_host(tmp_path, "example.org")
    certificates = HttpsCertificates(config(tmp_path, host), clock)
    first = certificates.contexts()
    other = tmp_path / "other"
    other.mkdir()
    create_self_signed(["example.org"], host.cert or Path(), other / "key.pem")  # new cert only
    clock.now += CHECK_INTERVAL
    assert certificates.contexts() is first


def test_acme_hosts_are_those_without_operator_certificates(tmp_path: Path) -> None:
    hosts = (operator_host(tmp_path, "example.org"), HostConfig("news.example.org"))
    assert [host.name for host in acme_hosts(config(tmp_path, *hosts, acme=True))] == [
        "news.example.org"
    ]
    assert acme_hosts(config(tmp_path, *hosts)) == []


def test_an_acme_host_shows_its_self_signed_certificate_until_acme_issued_one(
    tmp_path: Path,
) -> None:
    host = HostConfig("news.example.org")
    settings = config(tmp_path, host, acme=True)
    files = acme_files(settings.state_dir, host.name)
    assert https_identity(host, settings).cert_path != files.cert
    files.directory.mkdir(parents=True)
    create_self_signed([host.name], files.cert, files.key)  # stands for ACME's
    assert https_identity(host, settings).cert_path == files.cert
