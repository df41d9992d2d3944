"""Fingerprints and names, checked against the openssl CLI."""

import datetime
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs import (
    CertificateError,
    certificate_fingerprint,
    create_self_signed,
    names_in,
    public_key_fingerprint,
    read_certificate,
)
from certs.selfsigned import build_certificate

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(
    OPENSSL is None, reason="the openssl CLI is the independent checker and is not installed"
)


@pytest.fixture
def cert_path(tmp_path: Path) -> Path:
    path = tmp_path / "cert.pem"
    create_self_signed(["localhost", "127.0.0.1", "::1"], path, tmp_path / "key.pem")
    return path


def _openssl(*args: str, data: bytes | None = None, path: Path | None = None) -> bytes:
    assert OPENSSL is not None
    command = [OPENSSL, *args] + (["-in", str(path)] if path else [])
    return subprocess.run(command, input=data, capture_output=True, check=True).stdout


@needs_openssl
def test_certificate_fingerprint_matches_openssl(cert_path: Path) -> None:
    output = _openssl("x509", "-noout", "-fingerprint", "-sha256", path=cert_path).decode()
    expected = output.strip().split("=", 1)[1].replace(":", "").lower()
    assert certificate_fingerprint(read_certificate(cert_path)) == expected


@needs_openssl
def test_public_key_fingerprint_matches_openssl(cert_path: Path) -> None:
    public_pem = _openssl("x509", "-pubkey", "-noout", path=cert_path)
    public_der = _openssl("pkey", "-pubin", "-outform", "DER", data=public_pem)
    expected = hashlib.sha256(public_der).hexdigest()
    assert public_key_fingerprint(read_certificate(cert_path)) == expected


def test_fingerprints_are_lowercase_hex_sha256(cert_path: Path) -> None:
    cert = read_certificate(cert_path)
    for fingerprint in (certificate_fingerprint(cert), public_key_fingerprint(cert)):
        assert len(fingerprint) == 64
        assert fingerprint == fingerprint.lower()
        int(fingerprint, 16)


def test_renewal_with_the_same_key_keeps_only_the_public_key_fingerprint() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    first = build_certificate(["example.org"], key)
    renewed = build_certificate(["example.org"], key)
    assert public_key_fingerprint(renewed) == public_key_fingerprint(first)
    assert certificate_fingerprint(renewed) != certificate_fingerprint(first)


def test_a_new_key_changes_the_public_key_fingerprint() -> None:
    first = build_certificate(["example.org"], ec.generate_private_key(ec.SECP256R1()))
    other = build_certificate(["example.org"], ec.generate_private_key(ec.SECP256R1()))
    assert public_key_fingerprint(other) != public_key_fingerprint(first)


def test_names_in_lists_dns_names_then_ip_addresses(cert_path: Path) -> None:
    assert names_in(read_certificate(cert_path)) == ("localhost", "127.0.0.1", "::1")


def test_names_in_is_empty_without_san() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "bare.example")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
        .sign(key, hashes.SHA256())
    )
    assert names_in(cert) == ()


def test_read_certificate_returns_the_leaf_of_a_fullchain(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = build_certificate(["leaf.example"], key)
    intermediate = build_certificate(["intermediate.example"], key)
    chain = tmp_path / "fullchain.pem"
    chain.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + intermediate.public_bytes(serialization.Encoding.PEM)
    )
    assert read_certificate(chain) == leaf


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "not found"),
        (b"", "no valid PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", "no valid"),
        (b"hello\n", "no valid PEM certificate"),
    ],
)
def test_read_certificate_names_the_file_and_reason(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "cert.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CertificateError, match=reason) as caught:
        read_certificate(path)
    assert str(path) in str(caught.value)
