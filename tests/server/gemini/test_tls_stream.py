"""TLSStream against real clients on 127.0.0.1: identities, sessions, close_notify, bad peers.

Clients: the stdlib `ssl` module (the system's OpenSSL), pyOpenSSL connections whose bytes the
test carries itself (to split or alter them), and trio's `SSLStream` for trio's own stream
conformance checks. Certificate choice by SNI and the TLS 1.2 floor are in
tests/certs/test_certs_context.py.
"""

from __future__ import annotations

import datetime
import hashlib
import socket
import ssl
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL
from OpenSSL._util import ffi as _ffi  # no pyOpenSSL API swaps a loaded certificate
from OpenSSL._util import lib as _lib

from certs import (
    HostContexts,
    Identity,
    certificate_fingerprint,
    ensure_identity,
    read_certificate,
    session_context,
)
from server.tls_stream import TLSStream
from tests.tls_harness import (
    DEADLINE,
    TLS12,
    TLS13,
    VERSION_NAMES,
    ClientIdentity,
    Seen,
    build_client_identity,
    client_context,
    complete_handshake,
    fetch,
    first_flight,
    memory_client,
    openssl_req_identity,
    outgoing,
    receive_until_close_notify,
    reframe,
    send_in_pieces,
    serving,
)

VERSIONS = pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
OPENSSL_VERSIONS = pytest.mark.parametrize(
    "version", [SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION], ids=["tls1.2", "tls1.3"]
)
OPENSSL_VERSION_NAMES = {SSL.TLS1_2_VERSION: "TLSv1.2", SSL.TLS1_3_VERSION: "TLSv1.3"}
REQUEST = b"gemini://localhost/\r\n"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ClientIdentity]:
    """Client identities: made with cryptography's builder, with `openssl req`, and expired."""
    directory = tmp_path_factory.mktemp("clients")
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    return {
        "alice": build_client_identity(directory, "alice"),
        "mallory": build_client_identity(directory, "mallory"),
        "expired": build_client_identity(
            directory, "expired", not_before=past, not_after=past + datetime.timedelta(days=1)
        ),
        "openssl-req": openssl_req_identity(directory, "openssl-req"),
    }


@pytest.fixture(scope="module")
def identities(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Identity]:
    directory = tmp_path_factory.mktemp("servers")
    return {host: ensure_identity(host, directory) for host in ("localhost", "other.test")}


@pytest.fixture
def hosts(identities: dict[str, Identity]) -> HostContexts:
    return HostContexts(identities, "localhost")


def _der_of(identity: Identity) -> bytes:
    return read_certificate(identity.cert_path).public_bytes(serialization.Encoding.DER)


def _fingerprint(certificate: x509.Certificate | None) -> str:
    assert certificate is not None
    return certificate_fingerprint(certificate)


def _pyopenssl_context(version: int, identity: ClientIdentity | None = None) -> SSL.Context:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(version)
    context.set_max_proto_version(version)
    if identity is not None:
        context.use_certificate_chain_file(str(identity.cert))
        context.use_privatekey_file(str(identity.key))
    return context


async def _exchange(
    client: SSL.Connection, port: int, split: tuple[int, int] | None = None
) -> bytes:
    """Handshake, one request and its whole response, the client's bytes carried by the test.

    `split` = (record bytes, piece bytes): the ClientHello goes in records of that size, sent
    a piece at a time, each read by the server before the next is sent.
    """
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        hello = first_flight(client)
        if split is None:
            await stream.send_all(hello)
        else:
            record_bytes, piece_bytes = split
            await send_in_pieces(stream, reframe(hello, [record_bytes]), piece_bytes)
        await complete_handshake(client, stream)
        client.sendall(REQUEST)
        await stream.send_all(outgoing(client))
        return await receive_until_close_notify(client, stream)


def _server_certificate(client: SSL.Connection) -> bytes:
    certificate = client.get_peer_certificate(as_cryptography=True)
    assert isinstance(certificate, x509.Certificate)
    return certificate.public_bytes(serialization.Encoding.DER)


# ---- client identities ---------------------------------------------------------------------


@VERSIONS
async def test_no_client_certificate(hosts: HostContexts, version: ssl.TLSVersion) -> None:
    async with serving(session_context(), hosts) as server:
        got = await trio.to_thread.run_sync(fetch, server.port, client_context(version))
    assert got.response.startswith(b"20 text/gemini\r\n") and got.close_notify
    (seen,) = server.seen
    assert seen.peer_certificate is None and seen.error is None
    assert seen.version == VERSION_NAMES[version]


@VERSIONS
@pytest.mark.parametrize("name", ["alice", "openssl-req", "expired"])
async def test_any_client_certificate_is_accepted(
    hosts: HostContexts, clients: dict[str, ClientIdentity], version: ssl.TLSVersion, name: str
) -> None:
    """Self-signed, by cryptography's builder or `openssl req`, even expired: the app judges."""
    async with serving(session_context(), hosts) as server:
        context = client_context(version, clients[name])
        got = await trio.to_thread.run_sync(fetch, server.port, context)
    assert got.response.startswith(b"20 ")
    (seen,) = server.seen
    assert _fingerprint(seen.peer_certificate) == hashlib.sha256(clients[name].der()).hexdigest()


def test_the_expired_identity_is_expired(clients: dict[str, ClientIdentity]) -> None:
    certificate = x509.load_pem_x509_certificate(clients["expired"].cert.read_bytes())
    assert certificate.not_valid_after_utc < datetime.datetime.now(datetime.UTC)


@VERSIONS
async def test_the_identity_survives_resumption(
    hosts: HostContexts, clients: dict[str, ClientIdentity], version: ssl.TLSVersion
) -> None:
    """The client certificate travels inside the session: a resumed connection keeps it."""
    async with serving(session_context(), hosts) as server:
        context = client_context(version, clients["alice"])
        first = await trio.to_thread.run_sync(fetch, server.port, context)
        again = await trio.to_thread.run_sync(
            partial(fetch, server.port, context, session=first.session)
        )
    assert not first.reused and again.reused
    assert [seen.reused for seen in server.seen] == [False, True]
    expected = hashlib.sha256(clients["alice"].der()).hexdigest()
    assert _fingerprint(server.seen[1].peer_certificate) == expected


def _impostor(version: int, victim: ClientIdentity, own: ClientIdentity) -> SSL.Connection:
    """A client that presents `victim`'s certificate, byte for byte, but holds `own`'s key.

    OpenSSL refuses to load a certificate with a key that does not match it, so the matching
    pair is loaded (own certificate, own key), then the connection's certificate is decoded
    over, in place, with the victim's DER (d2i reuses the X509 it is given).
    """
    client = memory_client(_pyopenssl_context(version, own), b"localhost")
    der = victim.der()
    certificate = _lib.SSL_get_certificate(client._ssl)
    bio = _lib.BIO_new_mem_buf(der, len(der))
    try:
        decoded = _lib.d2i_X509_bio(bio, _ffi.new("X509 **", certificate))
    finally:
        _lib.BIO_free(bio)
    assert decoded == certificate
    return client


@OPENSSL_VERSIONS
async def test_a_certificate_without_its_key_is_refused(
    hosts: HostContexts, clients: dict[str, ClientIdentity], version: int
) -> None:
    """The verify callback accepts any certificate chain; the client must still prove the key.

    In TLS 1.2 and 1.3 alike, a client that sends a certificate then sends CertificateVerify:
    a signature, made with the certificate's private key, over the handshake so far (RFC 8446
    §4.4.3, RFC 5246 §7.4.8). OpenSSL checks it against the public key in the certificate
    before the handshake can end, whatever the verify callback says, and answers a bad one
    with a decrypt_error alert. Here the client sends alice's exact certificate but signs with
    mallory's key.
    """
    impostor = _impostor(version, clients["alice"], clients["mallory"])
    sent = impostor.get_certificate(as_cryptography=True)
    assert isinstance(sent, x509.Certificate)
    assert sent.public_bytes(serialization.Encoding.DER) == clients["alice"].der()
    honest = memory_client(_pyopenssl_context(version, clients["alice"]), b"localhost")
    async with serving(session_context(), hosts) as server:
        with trio.fail_after(DEADLINE):
            with pytest.raises(SSL.Error, match="decrypt error"):
                await _exchange(impostor, server.port)
            response = await _exchange(honest, server.port)
    refused, accepted = server.seen
    assert isinstance(refused.error, trio.BrokenResourceError)
    assert "bad signature" in str(refused.error)
    assert refused.peer_certificate is None and refused.request == b""
    assert response.startswith(b"20 ")
    expected = hashlib.sha256(clients["alice"].der()).hexdigest()
    assert _fingerprint(accepted.peer_certificate) == expected


# ---- sessions and host names (RFC 6066 §3) -------------------------------------------------


@VERSIONS
async def test_a_session_is_resumed_under_its_own_host_name_only(
    hosts: HostContexts, identities: dict[str, Identity], version: ssl.TLSVersion
) -> None:
    """A client offers its session whatever name it asks for; under another name, the server
    makes a full handshake and presents that name's certificate."""
    async with serving(session_context(), hosts) as server:
        context = client_context(version)
        first = await trio.to_thread.run_sync(fetch, server.port, context)
        same = await trio.to_thread.run_sync(
            partial(fetch, server.port, context, "localhost", first.session)
        )
        other = await trio.to_thread.run_sync(
            partial(fetch, server.port, context, "other.test", first.session)
        )
    assert same.reused and not other.reused
    assert [seen.reused for seen in server.seen] == [False, True, False]
    assert server.seen[2].server_name == "other.test"
    assert other.server_certificate == _der_of(identities["other.test"])


@OPENSSL_VERSIONS
@pytest.mark.parametrize(
    "split",
    [(16384, 1), (50, 7), (1, 64)],
    ids=["one-record-bytewise", "records-of-50", "records-of-1"],
)
async def test_a_client_hello_in_pieces_still_scopes_its_session_to_the_name(
    hosts: HostContexts, identities: dict[str, Identity], version: int, split: tuple[int, int]
) -> None:
    """The ClientHello split across records, each piece read on its own: the server reads
    the name before OpenSSL looks the session up, so resumes it under its own name only."""
    context = _pyopenssl_context(version)
    async with serving(session_context(), hosts) as server:
        with trio.fail_after(DEADLINE):
            first = memory_client(context, b"other.test")
            await _exchange(first, server.port)
            session = first.get_session()
            assert session is not None
            same = memory_client(context, b"other.test", session)
            assert (await _exchange(same, server.port, split)).startswith(b"20 ")
            other = memory_client(context, b"localhost", session)
            assert (await _exchange(other, server.port, split)).startswith(b"20 ")
    assert [seen.reused for seen in server.seen] == [False, True, False]
    assert [seen.server_name for seen in server.seen] == ["other.test", "other.test", "localhost"]
    assert server.seen[1].version == OPENSSL_VERSION_NAMES[version]
    assert _server_certificate(same) == _der_of(identities["other.test"])
    assert _server_certificate(other) == _der_of(identities["localhost"])


# ---- close_notify, truncation, bad peers ---------------------------------------------------


async def test_peer_eof_without_close_notify_breaks_the_stream(hosts: HostContexts) -> None:
    def truncated(port: int) -> None:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as raw,
            client_context().wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"gemini://localhost/par")  # then the socket closes: no close_notify

    async with serving(session_context(), hosts) as server:
        await trio.to_thread.run_sync(truncated, server.port)
    (seen,) = server.seen
    assert seen.request == b"gemini://localhost/par"
    assert isinstance(seen.error, trio.BrokenResourceError)
    assert "without close_notify" in str(seen.error)


async def test_close_notify_from_the_client_reads_as_eof(hosts: HostContexts) -> None:
    def polite(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as raw:
            tls = client_context().wrap_socket(raw, server_hostname="localhost")
            tls.sendall(b"gemini://localhost/par")
            tls.unwrap()  # close_notify, then wait for the server's

    async def read_to_eof(tls: TLSStream, seen: Seen) -> None:
        while data := await tls.receive_some():
            seen.request += data
        assert await tls.receive_some() == b""  # and again, as trio streams do

    async with serving(session_context(), hosts, read_to_eof) as server:
        await trio.to_thread.run_sync(polite, server.port)
    (seen,) = server.seen
    assert seen.request == b"gemini://localhost/par"
    assert seen.error is None


@VERSIONS
async def test_close_notify_goes_out_with_plaintext_left_unread(
    hosts: HostContexts, version: ssl.TLSVersion
) -> None:
    """The server reads 5 bytes of a 2 KB request and answers: its close_notify still follows."""

    async def hasty(tls: TLSStream, seen: Seen) -> None:
        seen.request = await tls.receive_some(5)
        await tls.send_all(b"20 text/gemini\r\nhasty")

    long_request = b"gemini://localhost/" + b"a" * 2000 + b"\r\n"
    async with serving(session_context(), hosts, hasty) as server:
        got = await trio.to_thread.run_sync(
            partial(fetch, server.port, client_context(version), request=long_request)
        )
    assert got.response == b"20 text/gemini\r\nhasty"
    assert got.close_notify
    assert server.seen[0].request == b"gemin"


async def test_garbage_is_refused(hosts: HostContexts) -> None:
    def garbage(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as raw:
            raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
            answer = b""
            while chunk := raw.recv(100):
                answer += chunk
            return answer

    async with serving(session_context(), hosts) as server:
        answer = await trio.to_thread.run_sync(garbage, server.port)
    (seen,) = server.seen
    assert isinstance(seen.error, trio.BrokenResourceError)
    assert seen.version is None
    assert answer == b"" or answer[0] == 21  # nothing, or a TLS alert: never a page


# ---- trio's Stream contract ----------------------------------------------------------------


def _memory_pair(
    session: SSL.Context,
    hosts: HostContexts,
    version: ssl.TLSVersion | None = None,
    *,
    clogged: bool = False,
) -> tuple[TLSStream, trio.SSLStream[trio.abc.Stream]]:
    make = trio.testing.lockstep_stream_pair if clogged else trio.testing.memory_stream_pair
    server_side, client_side = make()
    client: trio.SSLStream[trio.abc.Stream] = trio.SSLStream(
        client_side, client_context(version), server_hostname="localhost"
    )
    return TLSStream(server_side, session, hosts), client


@VERSIONS
async def test_trio_stream_conformance(hosts: HostContexts, version: ssl.TLSVersion) -> None:
    session = session_context()

    async def maker() -> tuple[trio.abc.Stream, trio.abc.Stream]:
        return _memory_pair(session, hosts, version)

    async def clogged() -> tuple[trio.abc.Stream, trio.abc.Stream]:
        # Handshake first, as trio's own SSLStream tests do: otherwise a receive_some meant to
        # unclog the stream starts a handshake and waits on the clogged peer.
        server, client = _memory_pair(session, hosts, version, clogged=True)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.do_handshake)
            nursery.start_soon(client.do_handshake)
        return server, client

    with trio.fail_after(60):
        await trio.testing.check_two_way_stream(maker, clogged)


async def test_two_receivers_conflict_and_the_first_keeps_its_bytes(hosts: HostContexts) -> None:
    session = session_context()
    server, client = _memory_pair(session, hosts)
    received: list[bytes] = []

    async def receive() -> None:
        received.append(await server.receive_some())

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await server.receive_some()
            await client.send_all(b"hello")
    assert received == [b"hello"]


_DROPPED_SESSION_CONTEXT = """
import sys
from pathlib import Path

import trio
import trio.testing

from certs import HostContexts, ensure_identity, session_context
from server.tls_stream import TLSStream
from tests.tls_harness import client_context


async def main() -> None:
    identity = ensure_identity("localhost", Path(sys.argv[1]))
    hosts = HostContexts({"localhost": identity}, "localhost")
    server_side, client_side = trio.testing.memory_stream_pair()
    server = TLSStream(server_side, session_context(), hosts)  # nobody else holds the context
    client = trio.SSLStream(client_side, client_context(), server_hostname="localhost")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.do_handshake)
        nursery.start_soon(client.do_handshake)


trio.run(main)
"""


def test_a_stream_keeps_its_session_context_alive(tmp_path: Path) -> None:
    """OpenSSL calls the session context's callbacks (SNI, client certificate) for the whole
    handshake, after the connection has moved to its name's context: they must outlive any
    reference the caller holds. In a subprocess, as the failure is a crash."""
    done = subprocess.run(
        [sys.executable, "-c", _DROPPED_SESSION_CONTEXT, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
