"""TLS identities: a host's certificate and key files, made on first start or supplied."""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from certs.errors import CertificateError
from certs.fingerprint import names_in, read_certificate
from certs.layout import self_signed_files
from certs.selfsigned import create_self_signed

# Clients such as Amfora and Kristall refuse a certificate that does not name what they dialled.
_LOCALHOST_NAMES = ("localhost", "127.0.0.1", "::1")
_PRIVATE_DIR_MODE = 0o700


@dataclass(frozen=True)
class Identity:
    """The names a certificate answers for and where its PEM files live."""

    names: tuple[str, ...]
    cert_path: Path
    key_path: Path


def ensure_identity(host: str, state_dir: Path) -> Identity:
    """Return the self-signed identity for `host` under `state_dir`, creating it on first call."""
    if not host or host.startswith(".") or "/" in host or "\\" in host or "\0" in host:
        raise ValueError(f"not a usable host name: {host!r}")
    files = self_signed_files(state_dir, host)
    if files.cert.exists() and files.key.exists():
        # Made before: reading needs no write access, so a read-only state directory serves.
        return load_identity(host, files.cert, files.key)
    # Top down, so that every level from the state directory on is private, not just the last.
    for directory in reversed((files.directory, *files.directory.parents)):
        if directory.is_relative_to(state_dir):
            directory.mkdir(mode=_PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    # Processes starting together (workers, replicas) must not each make half a pair.
    with _locked(files.directory / ".lock"):
        if not (files.cert.exists() and files.key.exists()):
            names = _LOCALHOST_NAMES if host == "localhost" else (host,)
            create_self_signed(names, files.cert, files.key)
    return load_identity(host, files.cert, files.key)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created 0600) for the duration."""
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def load_identity(host: str, cert_path: Path, key_path: Path) -> Identity:
    """Check that PEM files (possibly a fullchain) parse and match, and return their identity."""
    cert = read_certificate(cert_path)
    key = _read_private_key(key_path)
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise CertificateError(
            f"{key_path}: private key does not match the certificate in {cert_path}"
        )
    names = (host, *(name for name in names_in(cert) if name.lower() != host.lower()))
    return Identity(names=names, cert_path=cert_path, key_path=key_path)


def _read_private_key(path: Path) -> PrivateKeyTypes:
    """Load an unencrypted PEM private key, naming the file in any error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"{path}: key file not found") from None
    except OSError as error:
        raise CertificateError(f"{path}: cannot read key: {error.strerror}") from error
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError as error:
        raise CertificateError(f"{path}: key is encrypted; supply it unencrypted") from error
    except (ValueError, UnsupportedAlgorithm) as error:
        raise CertificateError(f"{path}: no valid PEM private key: {error}") from error


def _spki(public_key: PublicKeyTypes) -> bytes:
    """The DER SubjectPublicKeyInfo of a public key."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
