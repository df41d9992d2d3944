"""session_context and HostContexts over real sockets: certificate by SNI, TLS 1.2 as the floor."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL

from certs import (
    CertificateError,
    HostContexts,
    Identity,
    create_self_signed,
    ensure_identity,
    load_identity,
    read_certificate,
    session_context,
)
from certs.client_hello import MAX_HELLO_BYTES
from tests.tls_harness import (
    DEADLINE,
    TLS12,
    TLS13,
    VERSION_NAMES,
    Fetched,
    client_context,
    fetch,
    first_flight,
    handshake_messages,
    in_records,
    memory_client,
    note_handshake,
    send_in_pieces,
    serving,
)

VERSIONS = pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
_MAX_RECORD = 16384


@pytest.fixture
def identities(tmp_path: Path) -> dict[str, Identity]:
    return {host: ensure_identity(host, tmp_path) for host in ("a.example", "b.example")}


def _der_of(identity: Identity) -> bytes:
    return read_certificate(identity.cert_path).public_bytes(serialization.Encoding.DER)


async def _fetch(
    hosts: HostContexts,
    server_name: str | None,
    context: ssl.SSLContext | None = None,
) -> Fetched:
    """One request from a stdlib client to a TLSStream server choosing among `hosts`."""
    async with serving(session_context(), hosts) as server:
        return await trio.to_thread.run_sync(
            partial(fetch, server.port, context or client_context(), server_name)
        )


@VERSIONS
@pytest.mark.parametrize("host", ["a.example", "b.example"])
async def test_sni_selects_that_hosts_certificate(
    identities: dict[str, Identity], host: str, version: ssl.TLSVersion
) -> None:
    # The default is the other host, so choosing nothing would fail this test.
    default = "b.example" if host == "a.example" else "a.example"
    got = await _fetch(HostContexts(identities, default), host, client_context(version))
    assert got.server_certificate == _der_of(identities[host])
    assert got.version == VERSION_NAMES[version]


@pytest.mark.parametrize("spelling", ["B.EXAMPLE", "b.example.", "B.Example."])
async def test_sni_match_ignores_case_and_a_trailing_dot(
    identities: dict[str, Identity], spelling: str
) -> None:
    got = await _fetch(HostContexts(identities, "a.example"), spelling)
    assert got.server_certificate == _der_of(identities["b.example"])


@pytest.mark.parametrize("server_name", ["unknown.example", None])
async def test_unknown_or_missing_sni_gets_the_default_certificate(
    identities: dict[str, Identity], server_name: str | None
) -> None:
    got = await _fetch(HostContexts(identities, "b.example"), server_name)
    assert got.server_certificate == _der_of(identities["b.example"])


async def test_sni_matches_any_name_in_an_identity(
    identities: dict[str, Identity], tmp_path: Path
) -> None:
    cert_path, key_path = tmp_path / "multi-cert.pem", tmp_path / "multi-key.pem"
    create_self_signed(["c.example", "www.c.example"], cert_path, key_path)
    identities["c.example"] = load_identity("c.example", cert_path, key_path)
    got = await _fetch(HostContexts(identities, "a.example"), "www.c.example")
    assert got.server_certificate == _der_of(identities["c.example"])


async def test_a_hosts_own_name_beats_another_certificate_naming_it(tmp_path: Path) -> None:
    # a.example comes first and its certificate also names b.example.
    both_cert, both_key = tmp_path / "both-cert.pem", tmp_path / "both-key.pem"
    create_self_signed(["a.example", "b.example"], both_cert, both_key)
    identities = {
        "a.example": load_identity("a.example", both_cert, both_key),
        "b.example": ensure_identity("b.example", tmp_path),
    }
    got = await _fetch(HostContexts(identities, "a.example"), "b.example")
    assert got.server_certificate == _der_of(identities["b.example"])


async def test_ip_address_connections_carry_no_sni_and_get_the_default(
    tmp_path: Path,
) -> None:
    # localhost's certificate names 127.0.0.1, but a client dialling an address sends no SNI.
    identities = {
        "localhost": ensure_identity("localhost", tmp_path),
        "other.example": ensure_identity("other.example", tmp_path),
    }
    assert "127.0.0.1" in identities["localhost"].names
    got = await _fetch(HostContexts(identities, "other.example"), "127.0.0.1")
    assert got.server_certificate == _der_of(identities["other.example"])


async def test_modern_client_negotiates_tls_1_2_or_later(identities: dict[str, Identity]) -> None:
    got = await _fetch(HostContexts(identities, "a.example"), None)
    assert got.version in {"TLSv1.2", "TLSv1.3"}
    assert got.response.startswith(b"20 ")


def _tls11_client_context() -> ssl.SSLContext:
    context = client_context()
    # OpenSSL 3 only offers TLS 1.1 at security level 0.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def _offered_version(context: ssl.SSLContext) -> bytes:
    """The highest version a client context offers: its ClientHello's legacy_version."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="a.example")
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    hello = outgoing.read()
    return hello[9:11]  # after the record header (5 bytes) and the handshake header (4)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
async def test_tls_1_1_client_is_refused(identities: dict[str, Identity]) -> None:
    context = _tls11_client_context()
    # The client really offers TLS 1.1, or the refusal below would prove nothing.
    assert _offered_version(context) == b"\x03\x02"
    async with serving(session_context(), HostContexts(identities, "a.example")) as server:
        with pytest.raises(ssl.SSLError, match=r"PROTOCOL_VERSION|protocol version"):
            await trio.to_thread.run_sync(fetch, server.port, context)
    (seen,) = server.seen
    assert isinstance(seen.error, trio.BrokenResourceError)
    assert "unsupported protocol" in str(seen.error)
    assert seen.version is None  # no handshake: the handler never got past it


def _grown_to_the_limit(records: bytes) -> bytes:
    """The ClientHello in `records` with its extensions grown to their 64 KiB limit.

    The added extension has a GREASE type (RFC 8701), which OpenSSL ignores.
    """
    message = bytearray(handshake_messages(records))
    position = 4 + 2 + 32  # handshake header, legacy_version, random
    position += 1 + message[position]  # legacy_session_id
    position += 2 + int.from_bytes(message[position : position + 2], "big")  # cipher_suites
    position += 1 + message[position]  # compression methods: the extensions' length follows
    extensions = int.from_bytes(message[position : position + 2], "big")
    size = 0xFFFF - extensions - 4
    message[position : position + 2] = (0xFFFF).to_bytes(2, "big")
    message += b"\xda\xda" + size.to_bytes(2, "big") + bytes(size)
    message[1:4] = (len(message) - 4).to_bytes(3, "big")
    return in_records(bytes(message), [_MAX_RECORD], records[1:3])


async def test_a_client_hello_too_long_to_read_early_still_gets_its_hosts_certificate(
    identities: dict[str, Identity],
) -> None:
    """Past 64 KiB the early SNI reader gives up and OpenSSL's SNI callback picks the host.

    TLS 1.2, because its Certificate message is in clear: the client reads it before the
    server checks the client's Finished, which would fail, as the hello was altered behind
    the client's back.
    """
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_max_proto_version(SSL.TLS1_2_VERSION)
    client = memory_client(context, b"b.example")
    hello = _grown_to_the_limit(first_flight(client))
    # All but its last byte is more than the reader takes: it gives up before the end.
    assert len(hello) - 1 >= MAX_HELLO_BYTES
    hosts = HostContexts(identities, "a.example")
    async with serving(session_context(), hosts, note_handshake) as server:
        with trio.fail_after(DEADLINE):
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                await send_in_pieces(stream, hello, len(hello) - 1)
                while client.get_peer_certificate(as_cryptography=True) is None:
                    client.bio_write(await stream.receive_some())
                    with pytest.raises(SSL.WantReadError):
                        client.do_handshake()
    certificate = client.get_peer_certificate(as_cryptography=True)
    assert isinstance(certificate, x509.Certificate)
    assert certificate.public_bytes(serialization.Encoding.DER) == _der_of(identities["b.example"])
    assert isinstance(server.seen[0].error, trio.BrokenResourceError)


def test_default_host_without_identity_is_refused(identities: dict[str, Identity]) -> None:
    with pytest.raises(ValueError, match=re.escape("'c.example'")):
        HostContexts(identities, "c.example")


async def test_rebuilt_contexts_serve_a_renewed_certificate(
    identities: dict[str, Identity],
) -> None:
    identity = identities["a.example"]
    before = _der_of(identity)
    create_self_signed(identity.names, identity.cert_path, identity.key_path)
    got = await _fetch(HostContexts(identities, "b.example"), "a.example")
    assert got.server_certificate == _der_of(identity)
    assert got.server_certificate != before


def _break_key(identities: dict[str, Identity]) -> None:
    identities["a.example"].key_path.write_bytes(b"gone bad")


def _break_certificate(identities: dict[str, Identity]) -> None:
    identities["a.example"].cert_path.write_bytes(b"gone bad")


def _swap_key(identities: dict[str, Identity]) -> None:
    """A key that is a key, but another certificate's."""
    identities["a.example"].key_path.write_bytes(identities["b.example"].key_path.read_bytes())


def _remove_key(identities: dict[str, Identity]) -> None:
    identities["a.example"].key_path.unlink()


@pytest.mark.parametrize("damage", [_break_key, _break_certificate, _swap_key, _remove_key])
def test_rebuilding_with_a_broken_certificate_or_key_names_the_files(
    identities: dict[str, Identity], damage: Callable[[dict[str, Identity]], None]
) -> None:
    damage(identities)
    identity = identities["a.example"]
    with pytest.raises(CertificateError) as caught:
        HostContexts(identities, "b.example")
    assert str(identity.cert_path) in str(caught.value)
    assert str(identity.key_path) in str(caught.value)


@pytest.mark.parametrize(
    ("client_certificates", "mode"), [(True, SSL.VERIFY_PEER), (False, SSL.VERIFY_NONE)]
)
def test_https_contexts_ask_no_client_certificate_and_gemini_ones_do(
    identities: dict[str, Identity], client_certificates: bool, mode: int
) -> None:
    session = session_context(client_certificates=client_certificates)
    hosts = HostContexts(identities, "a.example", client_certificates=client_certificates)
    assert session.get_verify_mode() == mode
    assert hosts.select(b"a.example").get_verify_mode() == mode
