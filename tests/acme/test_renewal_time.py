"""A certificate is renewed two thirds into its life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certs.acme import renewal_time


def certificate(not_before: datetime, days: int) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.org")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def test_a_90_day_certificate_is_renewed_on_day_60() -> None:
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    assert renewal_time(certificate(issued, 90)) == issued + timedelta(days=60)


def test_a_6_day_certificate_is_renewed_on_day_4() -> None:
    issued = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert renewal_time(certificate(issued, 6)) == issued + timedelta(days=4)
