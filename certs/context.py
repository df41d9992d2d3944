"""The TLS contexts of the servers: client identities, SNI, session tickets, host scoping.

Two kinds of pyOpenSSL context:

- one **session context** per deployment (`session_context`), made once, before workers are
  forked, and kept across reloads. Every connection starts on it, so it decides what OpenSSL
  copies into the connection: verify mode and callback, options, and above all the
  session-ticket key, which OpenSSL draws when the context is made and uses to seal and open
  the tickets of every connection that starts on it (never those of the context SNI moves it
  to). Forked workers inherit the same key, so they resume each other's sessions. It holds no
  certificate.
- one **name context** per host name (`HostContexts`), holding that host's certificate and a
  session id context naming the name; rebuilt on reload.

Client certificates: `VERIFY_PEER` without `VERIFY_FAIL_IF_NO_PEER_CERT` asks every client for a
certificate and lets it send none; `_accept_any_certificate` overrides every chain error
(self-signed, expired, unknown issuer), so any certificate is accepted and judged later by its
fingerprint and dates. Possession of the private key is still proven and cannot be turned off:
the client's CertificateVerify message is a signature with the certificate's key over the
handshake transcript (RFC 8446 §4.4.3; TLS 1.2: RFC 5246 §7.4.8), which OpenSSL checks against
the certificate's public key before the handshake can finish; a bad one is a fatal alert.

Host scoping (RFC 6066 §3: a session is never resumed under another host name): OpenSSL looks
the session up before it runs the SNI callback, so the connection is moved onto the name's
context from the ClientHello bytes themselves, before OpenSSL reads them (`HostContexts.start`).
The session id context then names the host name during the lookup, and a session made for
another name does not match: the client gets a full handshake, on TLS 1.2 and 1.3 alike. The
SNI callback only remains for a ClientHello the early reader could not read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from OpenSSL import SSL, crypto

from certs.client_hello import NeedMore, Unreadable, server_name
from certs.errors import CertificateError
from certs.identity import Identity

_SESSION_ID_CONTEXT = b"capsule"
_TLS13_SUITES = b"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"


def session_context(*, client_certificates: bool = True) -> SSL.Context:
    """The deployment's first context for every connection; make it before forking workers.

    `client_certificates` asks every client for one (Gemini); HTTPS asks none, since a browser
    asked for a certificate offers the reader a choice of identities.
    """
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    _common_settings(context, _SESSION_ID_CONTEXT, client_certificates)
    # Tickets carry the whole session, so every worker can resume every session; a
    # per-process cache would only serve session-id resumption inside one worker.
    context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    context.set_tlsext_servername_callback(_on_server_name)
    return context


def _accept_any_certificate(
    _connection: SSL.Connection,
    _certificate: crypto.X509,
    _error_number: int,
    _error_depth: int,
    _preverify_ok: int,
) -> bool:
    """Accept every client certificate chain: Gemini identities are self-signed."""
    return True


class HostContexts:
    """The certificate of every host name of one configuration, and which one a client gets."""

    def __init__(
        self,
        identities: Mapping[str, Identity],
        default_host: str,
        *,
        client_certificates: bool = True,
    ) -> None:
        if default_host not in identities:
            raise ValueError(f"default host {default_host!r} has no identity")
        self._client_certificates = client_certificates
        self._by_name: dict[bytes, SSL.Context] = {}
        # A host's own name beats the same name appearing in another host's certificate.
        for host, identity in identities.items():
            self._add(host, identity)
        for identity in identities.values():
            for name in identity.names:
                self._add(name, identity)
        default = identities[default_host]
        self._no_name = self._name_context(default, b"")
        # Names we do not serve share one context: their requests are refused anyway.
        self._other_name = self._name_context(default, b"?")

    def _add(self, name: str, identity: Identity) -> None:
        key = _normalise(name.encode("ascii"))  # configured names are stored as punycode
        if key not in self._by_name:
            self._by_name[key] = self._name_context(identity, key)

    def _name_context(self, identity: Identity, name: bytes) -> SSL.Context:
        return _name_context(identity, _scope(name), self._client_certificates)

    def select(self, name: bytes | None) -> SSL.Context:
        """The context for the SNI `name`: its host's certificate, scoped to that name."""
        if name is None:
            return self._no_name
        return self._by_name.get(_normalise(name), self._other_name)

    def connection(self, session: SSL.Context) -> SSL.Connection:
        """A server connection on the deployment's session context, choosing among these."""
        connection = SSL.Connection(session, None)
        connection.set_accept_state()
        connection.set_app_data(self)
        return connection

    def start(self, connection: SSL.Connection, first_bytes: bytes | bytearray) -> bool:
        """Move `connection` onto its name's context from the client's first bytes.

        False while those bytes end inside the ClientHello; True once decided (including
        when they cannot be read: then OpenSSL judges them, and the SNI callback picks).
        """
        try:
            found = server_name(first_bytes)
        except Unreadable:
            return True
        if isinstance(found, NeedMore):
            return False
        connection.set_context(self.select(found.name))
        return True


def _on_server_name(connection: SSL.Connection) -> None:
    """SNI callback, for a ClientHello `HostContexts.start` could not read."""
    hosts = connection.get_app_data()
    if isinstance(hosts, HostContexts):
        chosen = hosts.select(connection.get_servername())
        if connection.get_context() is not chosen:
            connection.set_context(chosen)


def _common_settings(
    context: SSL.Context, session_id_context: bytes, client_certificates: bool
) -> None:
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.set_options(SSL.OP_NO_RENEGOTIATION | SSL.OP_CIPHER_SERVER_PREFERENCE)
    # AES-128-GCM first, as TLS 1.3 mandates every client support it: its SHA-256 transcript
    # and key schedule cost less per handshake than AES-256-GCM's SHA-384.
    context.set_tls13_ciphersuites(_TLS13_SUITES)
    if client_certificates:
        # Ask for a client certificate, accept any, and let clients send none.
        context.set_verify(SSL.VERIFY_PEER, _accept_any_certificate)
    # Required for resumption with VERIFY_PEER: without it OpenSSL fails a resuming handshake
    # ("session id context uninitialized") instead of making a full one.
    context.set_session_id(session_id_context)


def _name_context(
    identity: Identity, session_id_context: bytes, client_certificates: bool
) -> SSL.Context:
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    _common_settings(context, session_id_context, client_certificates)
    try:
        context.use_certificate_chain_file(str(identity.cert_path))
        context.use_privatekey_file(str(identity.key_path))
        context.check_privatekey()
    except (OSError, SSL.Error) as error:
        raise CertificateError(
            f"{identity.cert_path}, {identity.key_path}: "
            f"TLS library refused the certificate or key: {error}"
        ) from error
    return context


def _scope(name: bytes) -> bytes:
    """The session id context of one host name (at most 32 bytes, whatever the name)."""
    return hashlib.sha256(_SESSION_ID_CONTEXT + b"/" + name).digest()


def _normalise(name: bytes) -> bytes:
    """Compare host names case-insensitively and without a trailing dot."""
    return name.lower().rstrip(b".")
