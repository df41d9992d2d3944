"""Read certificates and compute the names and fingerprints that identify them."""

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.errors import CertificateError


def read_certificate(path: Path) -> x509.Certificate:
    """Return the first certificate in the PEM file at `path` (the leaf of a fullchain)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"{path}: certificate file not found") from None
    except OSError as error:
        raise CertificateError(f"{path}: cannot read certificate: {error.strerror}") from error
    try:
        return x509.load_pem_x509_certificates(data)[0]
    except ValueError as error:
        raise CertificateError(f"{path}: no valid PEM certificate: {error}") from error


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex; changes on every renewal."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def public_key_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex; stable across same-key renewals."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def names_in(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS names and IP addresses in the certificate's subjectAltName, in order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(
        str(entry.value) for entry in san if isinstance(entry, x509.DNSName | x509.IPAddress)
    )
