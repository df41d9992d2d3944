"""ensure_identity creates once then reuses; load_identity checks operator files."""

import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs import (
    CertificateError,
    Identity,
    certificate_fingerprint,
    create_self_signed,
    ensure_identity,
    load_identity,
    public_key_fingerprint,
    read_certificate,
)
from certs.selfsigned import build_certificate


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    create_self_signed(["example.org", "www.example.org"], cert_path, key_path)
    return cert_path, key_path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_call_creates_files_under_state_dir(state_dir: Path) -> None:
    identity = ensure_identity("example.org", state_dir)
    assert identity.cert_path == state_dir / "certs" / "example.org" / "cert.pem"
    assert identity.key_path == state_dir / "certs" / "example.org" / "key.pem"
    assert identity.cert_path.is_file()
    assert _mode(identity.key_path) == 0o600


def test_state_and_certs_directories_are_private(state_dir: Path) -> None:
    ensure_identity("example.org", state_dir)
    for directory in (state_dir, state_dir / "certs", state_dir / "certs" / "example.org"):
        assert _mode(directory) == 0o700


def test_localhost_identity_names_localhost_and_both_loopback_addresses(state_dir: Path) -> None:
    identity = ensure_identity("localhost", state_dir)
    assert identity.names == ("localhost", "127.0.0.1", "::1")


def test_other_host_identity_names_only_that_host(state_dir: Path) -> None:
    assert ensure_identity("gemini.example.org", state_dir).names == ("gemini.example.org",)


def test_second_call_reuses_the_same_certificate_and_key(state_dir: Path) -> None:
    first = ensure_identity("localhost", state_dir)
    key_before = first.key_path.read_bytes()
    fingerprint_before = certificate_fingerprint(read_certificate(first.cert_path))
    second = ensure_identity("localhost", state_dir)
    assert second == first
    assert second.key_path.read_bytes() == key_before
    assert certificate_fingerprint(read_certificate(second.cert_path)) == fingerprint_before


def test_each_host_gets_its_own_key(state_dir: Path) -> None:
    a = read_certificate(ensure_identity("a.example", state_dir).cert_path)
    b = read_certificate(ensure_identity("b.example", state_dir).cert_path)
    assert public_key_fingerprint(a) != public_key_fingerprint(b)


def test_missing_key_regenerates_both_files(state_dir: Path) -> None:
    first = ensure_identity("example.org", state_dir)
    before = certificate_fingerprint(read_certificate(first.cert_path))
    first.key_path.unlink()
    second = ensure_identity("example.org", state_dir)
    assert certificate_fingerprint(read_certificate(second.cert_path)) != before


def test_corrupt_stored_certificate_is_reported_not_replaced(state_dir: Path) -> None:
    identity = ensure_identity("example.org", state_dir)
    identity.cert_path.write_bytes(b"garbage")
    with pytest.raises(CertificateError, match=re.escape(str(identity.cert_path))):
        ensure_identity("example.org", state_dir)
    assert identity.cert_path.read_bytes() == b"garbage"


@pytest.mark.parametrize("host", ["", "..", ".hidden", "a/b", "a\\b", "a\0b"])
def test_host_that_is_not_a_safe_directory_name_is_refused(state_dir: Path, host: str) -> None:
    with pytest.raises(ValueError):
        ensure_identity(host, state_dir)


def test_load_identity_accepts_matching_files(pair: tuple[Path, Path]) -> None:
    cert_path, key_path = pair
    assert load_identity("example.org", cert_path, key_path) == Identity(
        names=("example.org", "www.example.org"), cert_path=cert_path, key_path=key_path
    )


def test_load_identity_puts_the_host_first_even_if_the_certificate_omits_it(
    pair: tuple[Path, Path],
) -> None:
    identity = load_identity("alias.example.org", *pair)
    assert identity.names == ("alias.example.org", "example.org", "www.example.org")


def test_load_identity_accepts_a_fullchain(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    cert_path, key_path = pair
    issuer = build_certificate(["issuer.example"], ec.generate_private_key(ec.SECP256R1()))
    fullchain = tmp_path / "fullchain.pem"
    fullchain.write_bytes(cert_path.read_bytes() + issuer.public_bytes(serialization.Encoding.PEM))
    assert load_identity("example.org", fullchain, key_path).cert_path == fullchain


@pytest.mark.parametrize("missing", ["cert", "key"])
def test_load_identity_rejects_a_missing_file_naming_it(
    pair: tuple[Path, Path], missing: str
) -> None:
    cert_path, key_path = pair
    gone = cert_path if missing == "cert" else key_path
    gone.unlink()
    with pytest.raises(CertificateError, match="not found") as caught:
        load_identity("example.org", cert_path, key_path)
    assert str(gone) in str(caught.value)


@pytest.mark.parametrize("garbled", ["cert", "key"])
@pytest.mark.parametrize(
    "content",
    [b"", b"not pem at all\n", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"],
)
def test_load_identity_rejects_garbage_pem_naming_the_file(
    pair: tuple[Path, Path], garbled: str, content: bytes
) -> None:
    cert_path, key_path = pair
    bad = cert_path if garbled == "cert" else key_path
    bad.write_bytes(content)
    with pytest.raises(CertificateError, match="no valid PEM") as caught:
        load_identity("example.org", cert_path, key_path)
    assert str(bad) in str(caught.value)


def test_load_identity_rejects_an_encrypted_key(pair: tuple[Path, Path]) -> None:
    cert_path, key_path = pair
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(CertificateError, match="encrypted") as caught:
        load_identity("example.org", cert_path, key_path)
    assert str(key_path) in str(caught.value)


def test_load_identity_rejects_a_key_that_does_not_match(
    tmp_path: Path, pair: tuple[Path, Path]
) -> None:
    cert_path, _ = pair
    other_key = tmp_path / "other" / "key.pem"
    other_key.parent.mkdir()
    create_self_signed(["example.org"], other_key.parent / "cert.pem", other_key)
    with pytest.raises(CertificateError, match="does not match") as caught:
        load_identity("example.org", cert_path, other_key)
    assert str(other_key) in str(caught.value)
    assert str(cert_path) in str(caught.value)
