"""Certificates from an ACME server (RFC 8555): account, http-01 challenges, renewal time."""

from certs.acme.challenges import ChallengeTokens, challenge_token
from certs.acme.issue import AcmeAccount, AcmeError, obtain_certificate
from certs.acme.renewal import renewal_time

__all__ = [
    "AcmeAccount",
    "AcmeError",
    "ChallengeTokens",
    "challenge_token",
    "obtain_certificate",
    "renewal_time",
]
