"""create_self_signed: key, names, validity and file handling."""

import datetime
import ipaddress
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs import create_self_signed, read_certificate


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path]:
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    create_self_signed(["localhost", "127.0.0.1", "::1"], cert_path, key_path)
    return cert_path, key_path


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_key_file_mode_is_exactly_0600(made: tuple[Path, Path]) -> None:
    assert _mode(made[1]) == 0o600


def test_certificate_file_mode_is_0644(made: tuple[Path, Path]) -> None:
    assert _mode(made[0]) == 0o644


def test_key_file_is_0600_even_with_an_open_umask(tmp_path: Path, open_umask: None) -> None:
    create_self_signed(["example.org"], tmp_path / "c.pem", tmp_path / "k.pem")
    assert _mode(tmp_path / "k.pem") == 0o600
    assert _mode(tmp_path / "c.pem") == 0o644


def test_key_is_unencrypted_pkcs8_pem(made: tuple[Path, Path]) -> None:
    data = made[1].read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert serialization.load_pem_private_key(data, password=None) is not None


def test_key_is_ecdsa_p256(made: tuple[Path, Path]) -> None:
    public_key = read_certificate(made[0]).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert isinstance(public_key.curve, ec.SECP256R1)


def test_signature_is_ecdsa_with_sha256(made: tuple[Path, Path]) -> None:
    cert = read_certificate(made[0])
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    cert.verify_directly_issued_by(cert)


def test_san_holds_dns_names_and_ip_addresses(made: tuple[Path, Path]) -> None:
    san = _san(read_certificate(made[0]))
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]


def test_common_name_is_the_first_name(made: tuple[Path, Path]) -> None:
    cert = read_certificate(made[0])
    common_names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert [attribute.value for attribute in common_names] == ["localhost"]


def test_certificate_is_not_a_ca(made: tuple[Path, Path]) -> None:
    cert = read_certificate(made[0])
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_validity_starts_in_the_past_and_ends_more_than_fifty_years_ahead(
    made: tuple[Path, Path],
) -> None:
    cert = read_certificate(made[0])
    now = datetime.datetime.now(datetime.UTC)
    assert cert.not_valid_before_utc < now - datetime.timedelta(hours=23)
    assert cert.not_valid_after_utc > now + datetime.timedelta(days=50 * 366)


def test_days_sets_the_validity(tmp_path: Path) -> None:
    create_self_signed(["example.org"], tmp_path / "c.pem", tmp_path / "k.pem", days=10)
    cert = read_certificate(tmp_path / "c.pem")
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=11)


def test_name_too_long_for_common_name_goes_in_a_critical_san_only(tmp_path: Path) -> None:
    name = "a" * 60 + ".example.org"
    create_self_signed([name], tmp_path / "c.pem", tmp_path / "k.pem")
    cert = read_certificate(tmp_path / "c.pem")
    assert len(cert.subject) == 0
    extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert extension.critical
    assert extension.value.get_values_for_type(x509.DNSName) == [name]


def test_no_names_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        create_self_signed([], tmp_path / "c.pem", tmp_path / "k.pem")


def test_creation_leaves_only_the_two_files(made: tuple[Path, Path]) -> None:
    assert sorted(path.name for path in made[0].parent.iterdir()) == ["cert.pem", "key.pem"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_path, key_path = made
    old_key = key_path.read_bytes()

    def crash(source: str, destination: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        create_self_signed(["localhost"], cert_path, key_path)
    assert key_path.read_bytes() == old_key
    assert sorted(path.name for path in cert_path.parent.iterdir()) == ["cert.pem", "key.pem"]
