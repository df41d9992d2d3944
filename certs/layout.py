"""Where a host's certificate and key files live, whether capsule made them or the operator did."""

from dataclasses import dataclass
from pathlib import Path

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"


@dataclass(frozen=True, slots=True)
class CertificateFiles:
    """A host's PEM certificate (or full chain) and its private key, side by side."""

    cert: Path
    key: Path

    @property
    def directory(self) -> Path:
        """The directory holding both files."""
        return self.cert.parent


def self_signed_files(state_dir: Path, host: str) -> CertificateFiles:
    """Where capsule keeps the certificate it makes for `host`: `STATE/certs/HOST/`."""
    return _pair(state_dir / "certs" / host)


def operator_files(cert_dir: Path, host: str) -> CertificateFiles:
    """Where an operator's certificate for `host` goes in a cert directory: `CERT_DIR/HOST/`."""
    return _pair(cert_dir / host)


def acme_files(state_dir: Path, host: str) -> CertificateFiles:
    """Where capsule keeps the certificate ACME issued for `host`: `STATE/acme/HOST/`."""
    return _pair(acme_directory(state_dir) / host)


def acme_directory(state_dir: Path) -> Path:
    """Everything ACME: the account key, the certificates, the pending challenges."""
    return state_dir / "acme"


def _pair(directory: Path) -> CertificateFiles:
    return CertificateFiles(directory / CERT_NAME, directory / KEY_NAME)
