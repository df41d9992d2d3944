"""When a certificate is renewed: two thirds into its life, as Caddy does."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509


def renewal_time(cert: x509.Certificate) -> datetime:
    """Two thirds of the way from notBefore to notAfter (UTC): day 60 of a 90-day certificate,
    leaving a month to retry if the ACME server is down."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    return start + (end - start) * 2 / 3
