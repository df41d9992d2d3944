"""Create a self-signed ECDSA P-256 server certificate and its key on disk."""

import datetime
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.files import write_atomically

KEY_MODE = 0o600
CERT_MODE = 0o644
# X.520 caps commonName at 64 characters; longer names live in subjectAltName only.
_MAX_COMMON_NAME = 64


def create_self_signed(
    names: Sequence[str], cert_path: Path, key_path: Path, *, days: int = 36500
) -> None:
    """Write a new key (mode 0600, PKCS8 PEM) and a certificate for `names` valid `days` days."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build_certificate(names, key, days=days)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomically(key_path, key_pem, KEY_MODE)
    write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), CERT_MODE)


def build_certificate(
    names: Sequence[str], key: ec.EllipticCurvePrivateKey, *, days: int = 36500
) -> x509.Certificate:
    """Sign a server certificate for `names` (host names or IP addresses) with `key` itself."""
    if not names:
        raise ValueError("a certificate needs at least one name")
    first = names[0]
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, first)] if len(first) <= _MAX_COMMON_NAME else []
    )
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        # An empty subject makes subjectAltName the only identity, so RFC 5280 wants it critical.
        .add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in names]),
            critical=not subject,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _general_name(name: str) -> x509.GeneralName:
    """An IPAddress entry for an IP literal, a DNSName entry for anything else."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
