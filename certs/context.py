"""Build the TLS server context that picks each host's certificate by SNI."""

import ssl
from collections.abc import Callable, Mapping

from certs.errors import CertificateError
from certs.identity import Identity

SniCallback = Callable[[ssl.SSLObject | ssl.SSLSocket, str | None, ssl.SSLContext], int | None]


def server_context(identities: Mapping[str, Identity], default_host: str) -> ssl.SSLContext:
    """A TLS 1.2+ server context for `default_host` that switches certificate by SNI."""
    if default_host not in identities:
        raise ValueError(f"default host {default_host!r} has no identity")
    contexts = {host: _identity_context(identity) for host, identity in identities.items()}
    by_name: dict[str, ssl.SSLContext] = {}
    # A host's own name beats the same name appearing in another host's certificate.
    for host in identities:
        by_name[_normalise(host)] = contexts[host]
    for host, identity in identities.items():
        for name in identity.names:
            by_name.setdefault(_normalise(name), contexts[host])
    default = contexts[default_host]
    default.sni_callback = _sni_callback(by_name, default)
    return default


def _identity_context(identity: Identity) -> ssl.SSLContext:
    """A server context holding one identity's certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_NONE
    # A Gemini client resumes with one ticket at most; OpenSSL would make two per connection.
    context.num_tickets = 1
    try:
        context.load_cert_chain(identity.cert_path, identity.key_path)
    except (OSError, ssl.SSLError) as error:
        raise CertificateError(
            f"{identity.cert_path}, {identity.key_path}: "
            f"TLS library refused the certificate or key: {error}"
        ) from error
    return context


def _sni_callback(by_name: Mapping[str, ssl.SSLContext], default: ssl.SSLContext) -> SniCallback:
    """Make the callback that moves a connection onto the context for the name it asked for."""

    def choose(
        connection: ssl.SSLObject | ssl.SSLSocket,
        server_name: str | None,
        _context: ssl.SSLContext,
    ) -> None:
        chosen = default if server_name is None else by_name.get(_normalise(server_name), default)
        if chosen is not connection.context:
            connection.context = chosen

    return choose


def _normalise(name: str) -> str:
    """Compare host names case-insensitively and without a trailing dot."""
    return name.lower().rstrip(".")
