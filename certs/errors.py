"""Errors raised by certificate operations."""


class CertificateError(Exception):
    """A certificate or key file is missing, unreadable, malformed or mismatched."""
