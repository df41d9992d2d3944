"""TLS test harness: a TLSStream server on 127.0.0.1, stdlib and pyOpenSSL clients, identities."""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path

import trio
import trio.testing
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

from certs import HostContexts
from server.tls_stream import TLSStream

TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
VERSION_NAMES = {TLS12: "TLSv1.2", TLS13: "TLSv1.3"}
# Every wait on the other side of a connection is bounded, so a broken test fails, never hangs.
DEADLINE = 10
_HANDSHAKE_RECORD = 22
_RECORD_HEADER = 5
_READ_BYTES = 65536


# ---- client identities ------------------------------------------------------------------


@dataclass(frozen=True)
class ClientIdentity:
    """A client certificate and its private key, as PEM files."""

    cert: Path
    key: Path

    def der(self) -> bytes:
        """The certificate as DER: what goes on the wire."""
        certificate = x509.load_pem_x509_certificate(self.cert.read_bytes())
        return certificate.public_bytes(serialization.Encoding.DER)


def build_client_identity(
    directory: Path,
    name: str,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> ClientIdentity:
    """A self-signed ECDSA P-256 certificate made with cryptography's builder, as clients do."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(days=1))
        .not_valid_after(not_after or now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    identity = ClientIdentity(directory / f"{name}.crt", directory / f"{name}.key")
    identity.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    identity.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return identity


def openssl_req_identity(directory: Path, name: str) -> ClientIdentity:
    """A client identity made the way users are told to: `openssl req -x509 -newkey rsa`."""
    identity = ClientIdentity(directory / f"{name}.crt", directory / f"{name}.key")
    subprocess.run(
        [
            *"openssl req -x509 -newkey rsa:2048 -nodes -days 365".split(),
            *("-subj", f"/CN={name}", "-keyout", str(identity.key), "-out", str(identity.cert)),
        ],
        check=True,
        capture_output=True,
        timeout=DEADLINE,
    )
    return identity


# ---- the server ---------------------------------------------------------------------------


@dataclass
class Seen:
    """What the server learnt of one connection."""

    server_name: str | None = None
    reused: bool | None = None
    version: str | None = None
    peer_certificate: x509.Certificate | None = None
    request: bytes = b""
    error: trio.BrokenResourceError | trio.ClosedResourceError | None = None


@dataclass
class Server:
    """A listening TLSStream server and what it saw, one `Seen` per connection, in order."""

    port: int
    seen: list[Seen] = field(default_factory=list)


Handler = Callable[[TLSStream, Seen], Awaitable[None]]


async def note_handshake(tls: TLSStream, seen: Seen) -> None:
    """Complete the handshake and note what it settled."""
    await tls.do_handshake()
    seen.server_name, seen.reused = tls.server_name, tls.session_reused
    seen.version, seen.peer_certificate = tls.tls_version, tls.peer_certificate()


async def answer(tls: TLSStream, seen: Seen) -> None:
    """Read one request line and answer it, as a Gemini server does."""
    await note_handshake(tls, seen)
    while not seen.request.endswith(b"\r\n"):
        data = await tls.receive_some()
        if not data:
            break
        seen.request += data
    await tls.send_all(b"20 text/gemini\r\nhello\n")


@asynccontextmanager
async def serving(
    session: SSL.Context, hosts: HostContexts, handler: Handler = answer
) -> AsyncIterator[Server]:
    """Serve TLSStreams on 127.0.0.1; on leaving, stop accepting and wait for every connection."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    server = Server(listener.socket.getsockname()[1])

    async def connection(transport: trio.SocketStream) -> None:
        seen = Seen()
        server.seen.append(seen)
        tls = TLSStream(transport, session, hosts)
        with trio.fail_after(DEADLINE):
            try:
                await handler(tls, seen)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
                seen.error = error
            finally:
                await tls.aclose()

    async with trio.open_nursery() as connections:
        accepting = trio.CancelScope()

        async def accept() -> None:
            with accepting:
                async with listener:
                    while True:
                        connections.start_soon(connection, await listener.accept())

        connections.start_soon(accept)
        try:
            yield server
        finally:
            accepting.cancel()


# ---- stdlib clients (blocking: run them with trio.to_thread.run_sync) ------------------------


def client_context(
    version: ssl.TLSVersion | None = None, identity: ClientIdentity | None = None
) -> ssl.SSLContext:
    """A Gemini client context: trusts any server certificate, may present `identity`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF  # a missing close_notify must show
    if version is not None:
        context.minimum_version = context.maximum_version = version
    if identity is not None:
        context.load_cert_chain(identity.cert, identity.key)
    return context


@dataclass(frozen=True)
class Fetched:
    """What a client got from one request."""

    response: bytes
    close_notify: bool
    server_certificate: bytes
    version: str | None
    session: ssl.SSLSession | None
    reused: bool


def fetch(
    port: int,
    context: ssl.SSLContext,
    server_name: str | None = "localhost",
    session: ssl.SSLSession | None = None,
    request: bytes = b"gemini://localhost/\r\n",
) -> Fetched:
    """Send one request and read the response until the server closes the connection."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as raw,
        context.wrap_socket(
            raw, server_hostname=server_name, session=session, suppress_ragged_eofs=False
        ) as tls,
    ):
        tls.sendall(request)
        response = b""
        try:
            while chunk := tls.recv(_READ_BYTES):  # b"" only at close_notify
                response += chunk
            close_notify = True
        except ssl.SSLEOFError:
            close_notify = False
        return Fetched(
            response,
            close_notify,
            tls.getpeercert(binary_form=True) or b"",
            tls.version(),
            tls.session,
            bool(tls.session_reused),
        )


# ---- pyOpenSSL clients over memory BIOs: the test moves every byte ---------------------------


def memory_client(
    context: SSL.Context, server_name: bytes | None, session: SSL.Session | None = None
) -> SSL.Connection:
    """A client connection whose ciphertext the test carries itself (see `outgoing`)."""
    client = SSL.Connection(context, None)
    if server_name is not None:
        client.set_tlsext_host_name(server_name)
    if session is not None:
        client.set_session(session)
    client.set_connect_state()
    return client


def outgoing(client: SSL.Connection) -> bytes:
    """Everything the client has written and nobody has sent yet."""
    chunks = []
    while True:
        try:
            chunks.append(client.bio_read(_READ_BYTES))
        except SSL.WantReadError:
            return b"".join(chunks)


def first_flight(client: SSL.Connection) -> bytes:
    """The ClientHello records the client writes when it starts its handshake."""
    try:
        client.do_handshake()
    except SSL.WantReadError:
        return outgoing(client)
    raise AssertionError("a client handshake cannot complete before the server answers")


def client_hello(server_name: bytes | None, max_version: int = SSL.TLS1_3_VERSION) -> bytes:
    """A ClientHello as OpenSSL writes it, offering up to `max_version`."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_max_proto_version(max_version)
    return first_flight(memory_client(context, server_name))


def handshake_messages(records: bytes) -> bytes:
    """The handshake messages carried by a run of handshake records."""
    messages, position = bytearray(), 0
    while position < len(records):
        assert records[position] == _HANDSHAKE_RECORD
        length = int.from_bytes(records[position + 3 : position + _RECORD_HEADER], "big")
        start = position + _RECORD_HEADER
        messages += records[start : start + length]
        position = start + length
    return bytes(messages)


def in_records(messages: bytes, sizes: Iterable[int], version: bytes = b"\x03\x01") -> bytes:
    """Handshake `messages` in records of `sizes` bytes (repeated, the last one shorter)."""
    records, position = bytearray(), 0
    for size in cycle(sizes):
        if position >= len(messages):
            return bytes(records)
        fragment = messages[position : position + size]
        records += bytes([_HANDSHAKE_RECORD]) + version + len(fragment).to_bytes(2, "big")
        records += fragment
        position += size
    raise AssertionError("no record sizes")


def reframe(records: bytes, sizes: Iterable[int]) -> bytes:
    """The same handshake messages, in records of `sizes` bytes."""
    return in_records(handshake_messages(records), sizes, records[1:3])


async def send_in_pieces(stream: trio.abc.Stream, data: bytes, size: int) -> None:
    """Send `data` `size` bytes at a time, each piece read by the server before the next."""
    for start in range(0, len(data), size):
        await stream.send_all(data[start : start + size])
        await trio.testing.wait_all_tasks_blocked()


async def complete_handshake(client: SSL.Connection, stream: trio.abc.Stream) -> None:
    """Carry the client's handshake to its end, once its first flight has been sent."""
    while True:
        try:
            client.do_handshake()
        except SSL.WantReadError:
            pass
        else:
            await stream.send_all(outgoing(client))
            return
        if data := outgoing(client):
            await stream.send_all(data)
        client.bio_write(await _receive(stream))


async def receive_until_close_notify(client: SSL.Connection, stream: trio.abc.Stream) -> bytes:
    """The plaintext the server sends until its close_notify (TLS 1.3 tickets on the way)."""
    plaintext = bytearray()
    while True:
        try:
            plaintext += client.recv(_READ_BYTES)
            continue
        except SSL.ZeroReturnError:
            return bytes(plaintext)
        except SSL.WantReadError:
            pass
        client.bio_write(await _receive(stream))


async def _receive(stream: trio.abc.Stream) -> bytes:
    data = await stream.receive_some(_READ_BYTES)
    if not data:
        raise trio.BrokenResourceError("the server closed the connection")
    return bytes(data)
