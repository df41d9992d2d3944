"""TLS identities: make, load, pick by SNI, fingerprint."""

from certs.context import HostContexts, session_context
from certs.errors import CertificateError
from certs.fingerprint import (
    certificate_fingerprint,
    names_in,
    public_key_fingerprint,
    read_certificate,
)
from certs.identity import Identity, ensure_identity, load_identity
from certs.layout import CertificateFiles, operator_files, self_signed_files
from certs.selfsigned import create_self_signed

__all__ = [
    "CertificateError",
    "CertificateFiles",
    "HostContexts",
    "Identity",
    "certificate_fingerprint",
    "create_self_signed",
    "ensure_identity",
    "load_identity",
    "names_in",
    "operator_files",
    "public_key_fingerprint",
    "read_certificate",
    "self_signed_files",
    "session_context",
]
