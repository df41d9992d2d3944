"""Client certificates made with cryptography's x509 builder, and the identities they carry."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from capsule.rules.access import ClientIdentity


def client_certificate(
    name: str = "reader",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    """A self-signed client certificate, as Lagrange makes one for an identity; valid from an
    hour ago for a year unless dates are given."""
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(hours=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def identity_of(certificate: x509.Certificate) -> ClientIdentity:
    """What the server knows of a client by its certificate: the SHA-256 of the whole DER
    certificate and its validity dates."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return ClientIdentity(
        hashlib.sha256(der).hexdigest(),
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
    )


def new_identity(
    name: str = "reader", not_before: datetime | None = None, not_after: datetime | None = None
) -> ClientIdentity:
    """The identity of a new client certificate."""
    return identity_of(client_certificate(name, not_before, not_after))
