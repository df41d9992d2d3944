"""One certificate from an ACME server (RFC 8555) over http-01, with certbot's acme library.

The library is synchronous (requests): `obtain_certificate` blocks, so callers on an event loop
run it in a thread. The account key, and each host's key and certificate chain, are kept in the
state directory (`certs.layout.acme_files`), every file 0600.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import requests
from acme import challenges, client, crypto_util, messages
from acme import errors as acme_errors
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from josepy.jwa import ES256
from josepy.jwk import JWK, JWKEC

from certs.acme.challenges import ChallengeTokens
from certs.files import write_atomically
from certs.layout import acme_directory, acme_files

_FILE_MODE = 0o600
_PRIVATE_DIR_MODE = 0o700
_USER_AGENT = "capsule"
_ACCOUNT_KEY_LOCK = threading.Lock()
"""Hosts are ordered in parallel threads; only one of them may make the account key."""


class AcmeError(Exception):
    """The ACME server refused, failed a validation, or could not be reached."""


@dataclass(frozen=True, slots=True)
class AcmeAccount:
    """Who asks which ACME server, and where the answers are kept."""

    directory_url: str
    email: str
    state_dir: Path
    ca_bundle: Path | None = None
    """CA certificates to trust for the ACME server's own HTTPS; None: the system's."""
    timeout: float = 90.0
    """Seconds for the server to validate the challenges and issue the certificate."""


def obtain_certificate(account: AcmeAccount, host: str) -> x509.Certificate:
    """Order a certificate for `host`, answer its http-01 challenge through the challenge files,
    and store the chain with a new key; the stored certificate is returned."""
    account_key = JWKEC(key=_account_key(account.state_dir))
    network = client.ClientNetwork(account_key, alg=ES256, user_agent=_USER_AGENT)
    if account.ca_bundle is not None:
        # requests takes a CA bundle path wherever it takes True.
        network.verify_ssl = str(account.ca_bundle)  # type: ignore[assignment]
    try:
        directory = client.ClientV2.get_directory(account.directory_url, network)
        acme = client.ClientV2(directory, network)
        _register(acme, network, account.email)
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        order = acme.new_order(crypto_util.make_csr(key_pem, [host]))
        chain = _validate_and_finalize(acme, order, account_key, account).fullchain_pem
    except (acme_errors.Error, requests.RequestException) as error:
        raise AcmeError(f"{account.directory_url}: {host}: {error}") from error
    files = acme_files(account.state_dir, host)
    files.directory.mkdir(mode=_PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    # The key first: whoever watches the certificate file sees both new files once it changes.
    write_atomically(files.key, key_pem, _FILE_MODE)
    write_atomically(files.cert, chain.encode("ascii"), _FILE_MODE)
    return x509.load_pem_x509_certificate(chain.encode("ascii"))


def _register(acme: client.ClientV2, network: client.ClientNetwork, email: str) -> None:
    """Create the account, or find the one this key already has."""
    registration = messages.NewRegistration.from_data(email=email, terms_of_service_agreed=True)
    try:
        acme.new_account(registration)
    except acme_errors.ConflictError as existing:
        network.account = messages.RegistrationResource(
            uri=existing.location, body=messages.Registration()
        )


def _validate_and_finalize(
    acme: client.ClientV2,
    order: messages.OrderResource,
    account_key: JWK,
    account: AcmeAccount,
) -> messages.OrderResource:
    """Publish the http-01 answer of every pending authorization, finalize, then withdraw."""
    tokens = ChallengeTokens(account.state_dir)
    published: list[str] = []
    try:
        for authorization in order.authorizations:
            if authorization.body.status == messages.STATUS_VALID:
                continue
            challenge = _http01(authorization)
            response, validation = challenge.response_and_validation(account_key)
            token = challenge.chall.encode("token")
            tokens.publish(token, validation)
            published.append(token)
            acme.answer_challenge(challenge, response)
        deadline = datetime.now() + timedelta(seconds=account.timeout)
        return acme.poll_and_finalize(order, deadline)
    finally:
        for token in published:
            tokens.withdraw(token)


def _http01(authorization: messages.AuthorizationResource) -> messages.ChallengeBody:
    for challenge in authorization.body.challenges:
        if isinstance(challenge.chall, challenges.HTTP01):
            return challenge
    name = authorization.body.identifier.value
    raise AcmeError(f"{name}: the ACME server offers no http-01 challenge")


def _account_key(state_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The ACME account's key, made on first use (ECDSA P-256, 0600)."""
    with _ACCOUNT_KEY_LOCK:
        return _read_or_make_account_key(acme_directory(state_dir) / "account.key")


def _read_or_make_account_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise AcmeError(f"{path}: not an ECDSA account key")
        return key
    path.parent.mkdir(mode=_PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomically(path, pem, _FILE_MODE)
    return key
