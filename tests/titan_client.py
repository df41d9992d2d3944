"""A blocking Titan client over real TLS (pyOpenSSL on a socket), able to end its side early:
with close_notify, by closing TCP, or by going silent."""

from __future__ import annotations

import hashlib
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from OpenSSL import SSL

from tests.tls_harness import DEADLINE, ClientIdentity

_READ_BYTES = 65536


@dataclass(frozen=True)
class Answer:
    """What the server sent back, and whether it ended with close_notify."""

    header: bytes
    body: bytes
    close_notify: bool

    @property
    def status(self) -> int:
        return int(self.header[:2])

    @property
    def meta(self) -> str:
        return self.header[3:].decode()


def fingerprint(identity: ClientIdentity) -> str:
    """How the operator writes the identity in `[[titan]]`: `sha256:<hex>`."""
    return "sha256:" + hashlib.sha256(identity.der()).hexdigest()


def titan_url(port: int, path: str, size: int, mime: str | None = None) -> str:
    """`titan://localhost:PORT/PATH;size=N[;mime=TYPE]`."""
    return f"titan://localhost:{port}{path};size={size}" + (f";mime={mime}" if mime else "")


def upload(
    port: int,
    request: bytes,
    identity: ClientIdentity | None = None,
    *,
    end: str = "wait",
) -> Answer | None:
    """Send `request` (line and body) with `identity`, then `end` the sending side: "wait" for
    the answer as clients do, "close_notify" first, or "tcp" (FIN, no close_notify). Returns
    the answer, or None if the server closed without one."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_verify(SSL.VERIFY_NONE, lambda *args: True)
    if identity is not None:
        context.use_certificate_file(str(identity.cert))
        context.use_privatekey_file(str(identity.key))
    raw = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    # pyOpenSSL wants a blocking socket; the kernel's timeouts keep a broken test from hanging.
    raw.settimeout(None)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Gemini clients do
    timeout = struct.pack("ll", DEADLINE, 0)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
    connection = SSL.Connection(context, raw)
    connection.set_tlsext_host_name(b"localhost")
    connection.set_connect_state()
    try:
        connection.do_handshake()
        connection.sendall(request)
        if end == "close_notify":
            connection.shutdown()
        elif end == "tcp":
            raw.shutdown(socket.SHUT_WR)
        return _read(connection)
    finally:
        raw.close()


def _read(connection: SSL.Connection) -> Answer | None:
    received = bytearray()
    close_notify = False
    while True:
        try:
            chunk = connection.recv(_READ_BYTES)
        except SSL.ZeroReturnError:
            close_notify = True
            break
        except (SSL.SysCallError, ConnectionResetError):
            break
        if not chunk:
            break
        received += chunk
    if not received:
        return None
    header, _, body = bytes(received).partition(b"\r\n")
    return Answer(header, body, close_notify)


def leftovers(root: Path) -> list[Path]:
    """Temporary upload files anywhere under `root`."""
    return sorted(root.rglob(".upload-*"))
