"""server_context over real sockets: certificate chosen by SNI, TLS 1.2 as the floor."""

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from cryptography import x509

from certs import (
    CertificateError,
    Identity,
    certificate_fingerprint,
    create_self_signed,
    ensure_identity,
    load_identity,
    read_certificate,
    server_context,
)

HANDSHAKE_DEADLINE = 10


@dataclass
class Handshake:
    """What each side saw of one TLS handshake."""

    peer_certificate: bytes | None
    client_version: str | None
    client_error: Exception | None
    server_error: Exception | None


@pytest.fixture
def identities(tmp_path: Path) -> dict[str, Identity]:
    return {host: ensure_identity(host, tmp_path) for host in ("a.example", "b.example")}


def _client_context() -> ssl.SSLContext:
    # Gemini clients trust on first use, so the test client does not verify either.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _tls11_client_context() -> ssl.SSLContext:
    context = _client_context()
    # OpenSSL 3 only offers TLS 1.1 at security level 0.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def _fingerprint_of(der: bytes | None) -> str:
    assert der is not None
    return certificate_fingerprint(x509.load_der_x509_certificate(der))


def _fingerprint_of_host(identities: Mapping[str, Identity], host: str) -> str:
    return certificate_fingerprint(read_certificate(identities[host].cert_path))


async def _handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str | None
) -> Handshake:
    """Run one handshake between trio.SSLStreams over a real TCP socket on 127.0.0.1."""
    result = Handshake(None, None, None, None)
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]

    async def serve() -> None:
        async with listener:
            stream = trio.SSLStream(await listener.accept(), server, server_side=True)
            try:
                await stream.do_handshake()
                await stream.send_all(b"ok")
            except trio.BrokenResourceError as error:
                result.server_error = error
            finally:
                await trio.aclose_forcefully(stream)

    async def connect() -> None:
        tcp = await trio.open_tcp_stream("127.0.0.1", port)
        stream = trio.SSLStream(tcp, client, server_hostname=server_hostname)
        try:
            await stream.do_handshake()
            assert await stream.receive_some() == b"ok"
            result.peer_certificate = stream.getpeercert(binary_form=True)
            result.client_version = stream.version()
        except trio.BrokenResourceError as error:
            result.client_error = error
        finally:
            await trio.aclose_forcefully(stream)

    with trio.fail_after(HANDSHAKE_DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            nursery.start_soon(connect)
    return result


@pytest.mark.parametrize("host", ["a.example", "b.example"])
async def test_sni_selects_that_hosts_certificate(
    identities: dict[str, Identity], host: str
) -> None:
    # The default is the other host, so a callback that did nothing would fail this test.
    default = "b.example" if host == "a.example" else "a.example"
    result = await _handshake(server_context(identities, default), _client_context(), host)
    assert _fingerprint_of(result.peer_certificate) == _fingerprint_of_host(identities, host)


@pytest.mark.parametrize("spelling", ["B.EXAMPLE", "b.example.", "B.Example."])
async def test_sni_match_ignores_case_and_a_trailing_dot(
    identities: dict[str, Identity], spelling: str
) -> None:
    result = await _handshake(server_context(identities, "a.example"), _client_context(), spelling)
    assert _fingerprint_of(result.peer_certificate) == _fingerprint_of_host(identities, "b.example")


@pytest.mark.parametrize("server_hostname", ["unknown.example", None])
async def test_unknown_or_missing_sni_gets_the_default_certificate(
    identities: dict[str, Identity], server_hostname: str | None
) -> None:
    context = server_context(identities, "b.example")
    result = await _handshake(context, _client_context(), server_hostname)
    assert _fingerprint_of(result.peer_certificate) == _fingerprint_of_host(identities, "b.example")


async def test_sni_matches_any_name_in_an_identity(
    identities: dict[str, Identity], tmp_path: Path
) -> None:
    cert_path, key_path = tmp_path / "multi-cert.pem", tmp_path / "multi-key.pem"
    create_self_signed(["c.example", "www.c.example"], cert_path, key_path)
    identities["c.example"] = load_identity("c.example", cert_path, key_path)
    result = await _handshake(
        server_context(identities, "a.example"), _client_context(), "www.c.example"
    )
    assert _fingerprint_of(result.peer_certificate) == _fingerprint_of_host(identities, "c.example")


async def test_ip_address_connections_carry_no_sni_and_get_the_default(
    tmp_path: Path,
) -> None:
    identities = {
        "localhost": ensure_identity("localhost", tmp_path),
        "other.example": ensure_identity("other.example", tmp_path),
    }
    result = await _handshake(
        server_context(identities, "other.example"), _client_context(), "127.0.0.1"
    )
    assert _fingerprint_of(result.peer_certificate) == _fingerprint_of_host(
        identities, "other.example"
    )


async def test_modern_client_negotiates_tls_1_2_or_later(identities: dict[str, Identity]) -> None:
    result = await _handshake(server_context(identities, "a.example"), _client_context(), None)
    assert result.client_version in {"TLSv1.2", "TLSv1.3"}


async def test_tls_1_2_client_is_served(identities: dict[str, Identity]) -> None:
    client = _client_context()
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    result = await _handshake(server_context(identities, "a.example"), client, "b.example")
    assert result.client_version == "TLSv1.2"
    assert _fingerprint_of(result.peer_certificate) == _fingerprint_of_host(identities, "b.example")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
async def test_tls_1_1_client_is_refused(identities: dict[str, Identity]) -> None:
    # Prove the client really offers TLS 1.1 here, or the refusal below would prove nothing.
    permissive = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    permissive.set_ciphers("DEFAULT:@SECLEVEL=0")
    permissive.minimum_version = ssl.TLSVersion.TLSv1
    permissive.load_cert_chain(identities["a.example"].cert_path, identities["a.example"].key_path)
    control = await _handshake(permissive, _tls11_client_context(), None)
    if control.client_version != "TLSv1.1":
        pytest.skip(f"local OpenSSL cannot speak TLS 1.1 at all: {control.client_error!r}")

    context = server_context(identities, "a.example")
    result = await _handshake(context, _tls11_client_context(), None)
    assert result.client_version is None
    assert isinstance(result.server_error, trio.BrokenResourceError)
    assert isinstance(result.server_error.__cause__, ssl.SSLError)
    assert "UNSUPPORTED_PROTOCOL" in str(result.server_error.__cause__)


def test_default_host_without_identity_is_refused(identities: dict[str, Identity]) -> None:
    with pytest.raises(ValueError, match=re.escape("'c.example'")):
        server_context(identities, "c.example")


async def test_rebuilt_context_serves_a_renewed_certificate(
    identities: dict[str, Identity],
) -> None:
    identity = identities["a.example"]
    before = _fingerprint_of_host(identities, "a.example")
    create_self_signed(identity.names, identity.cert_path, identity.key_path)
    result = await _handshake(
        server_context(identities, "b.example"), _client_context(), "a.example"
    )
    assert _fingerprint_of(result.peer_certificate) == _fingerprint_of_host(identities, "a.example")
    assert _fingerprint_of(result.peer_certificate) != before


def test_rebuilding_with_a_broken_key_names_the_files(identities: dict[str, Identity]) -> None:
    identity = identities["a.example"]
    identity.key_path.write_bytes(b"gone bad")
    with pytest.raises(CertificateError) as caught:
        server_context(identities, "b.example")
    assert str(identity.cert_path) in str(caught.value)
    assert str(identity.key_path) in str(caught.value)
