"""Server-side TLS for trio over pyOpenSSL memory BIOs: the one TLS path of Gemini and HTTPS.

`TLSStream` is a `trio.abc.Stream` over an `OpenSSL.SSL.Connection(context, None)`: OpenSSL reads
ciphertext from one memory BIO (fed with `bio_write`) and writes ciphertext to another (drained
with `bio_read`); this class moves those bytes to and from the transport stream. The contexts
(identities, SNI, tickets, host scoping) are made in `certs.context`.

Kept from `trio.SSLStream` (https_compatible=False): a peer that closes the TCP connection
without close_notify makes `receive_some` raise `trio.BrokenResourceError`, a clean close_notify
makes it return b""; `aclose` sends close_notify without waiting for the peer's; any OpenSSL
error breaks the stream (`trio.BrokenResourceError`, the OpenSSL error as its cause). Unlike
`trio.SSLStream`, it holds no reference cycle, so a closed connection is freed at once.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable
from typing import NoReturn, TypeVar

import trio
from cryptography import x509
from OpenSSL import SSL
from OpenSSL._util import lib as _lib  # SSL_session_reused: no pyOpenSSL wrapper

from certs import HostContexts

T = TypeVar("T")

# The largest TLS plaintext record. Reading this much at a time decrypts a whole record per
# call, so nothing decrypted is left waiting inside OpenSSL behind an unread close_notify.
RECORD_BYTES = 16 * 1024
# What one read from the transport may bring: a full record plus its header and tag, and more.
_TRANSPORT_BYTES = 64 * 1024
_BIO_BYTES = 64 * 1024


class _State(enum.Enum):
    OK = enum.auto()
    BROKEN = enum.auto()
    CLOSED = enum.auto()


class TLSStream(trio.abc.Stream):
    """The server side of one TLS connection over `transport_stream`.

    The connection starts on the deployment's session context (its verify settings, options
    and session-ticket key govern it throughout); before OpenSSL reads the ClientHello,
    `hosts` moves it onto the context of the name the client asked for.
    """

    def __init__(
        self,
        transport_stream: trio.abc.Stream,
        session_context: SSL.Context,
        hosts: HostContexts,
        *,
        flush_after_handshake: bool = False,
    ) -> None:
        self.transport_stream = transport_stream
        self._flush_after_handshake = flush_after_handshake
        self._hosts = hosts
        # OpenSSL calls the session context's callbacks (SNI, certificate verification) for
        # the whole handshake, after pyOpenSSL has let go of it: keep it alive until then.
        self._session_context = session_context
        self._connection = hosts.connection(session_context)
        # The client's first bytes, gathered until they hold the whole ClientHello.
        self._hello: bytearray | None = bytearray()
        self._state = _State.OK
        self._handshake_done = False
        self._peer_closed = False
        self._said_goodbye = False  # close_notify sent
        self._handshake_lock = trio.Lock()
        # Held while ciphertext taken from OpenSSL goes out, so two tasks never reorder it.
        self._send_lock = trio.StrictFIFOLock()
        self._sending = False
        self._receiving = False
        # TLS 1.3 session tickets, held back until this side next sends something.
        self._delayed = b""

    # ---- what the server wants to know about the connection --------------------------------

    def peer_certificate(self) -> x509.Certificate | None:
        """The client's certificate, if it sent one (on a resumed connection too: the
        certificate travels inside the session)."""
        return self._connection.get_peer_certificate(as_cryptography=True)

    @property
    def close_notify_sent(self) -> bool:
        """Whether close_notify went out already (`send_last`): closing then sends nothing."""
        return self._said_goodbye

    @property
    def server_name(self) -> str | None:
        """The SNI host name the client asked for (on a TLS 1.2 resumption: the session's)."""
        name = self._connection.get_servername()
        return None if name is None else name.decode("ascii", "replace")

    @property
    def session_reused(self) -> bool:
        """Whether this handshake resumed an earlier session."""
        return bool(_lib.SSL_session_reused(self._connection._ssl))

    @property
    def tls_version(self) -> str:
        """"TLSv1.3", "TLSv1.2"..."""
        return self._connection.get_protocol_version_name()

    # ---- trio.abc.Stream --------------------------------------------------------------------

    async def do_handshake(self) -> None:
        """Complete the handshake; afterwards a no-op (still a checkpoint).

        On TLS 1.3 the handshake's last output is only session tickets, which the client does
        not wait for. As trio.SSLStream does (OpenSSL issues 7948, 7967), they are held back
        and go out in front of whatever this side sends next (the response, or close_notify):
        one write fewer per connection, and no unsolicited bytes before the request is read.
        `flush_after_handshake` sends them here instead. On TLS 1.2 the last flight (the
        server's Finished) is what the client waits for: always sent here.
        """
        async with self._handshake_lock:
            if not self._handshake_done:
                self._check_usable()
                await self._drive(self._connection.do_handshake)
                self._handshake_done = True
                tls13 = self._connection.get_protocol_version() >= SSL.TLS1_3_VERSION
                if tls13 and not self._flush_after_handshake:
                    self._delayed = self._take_outgoing()
                else:
                    await self._flush()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Up to `max_bytes` (default: one whole record) of plaintext; b"" after close_notify."""
        if max_bytes is None:
            max_bytes = RECORD_BYTES
        elif max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        if self._receiving:
            raise trio.BusyResourceError("another task is already receiving")
        self._receiving = True
        try:
            return await self._receive(max_bytes)
        finally:
            self._receiving = False

    async def _receive(self, max_bytes: int) -> bytes:
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._handshake_done:
            await self.do_handshake()
        self._check_usable()
        if self._peer_closed:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return b""
        try:
            data = self._connection.recv(max_bytes)
        except SSL.WantReadError:
            pass  # nothing decrypted yet: go to the transport
        except SSL.ZeroReturnError:
            self._peer_closed = True
            await trio.lowlevel.cancel_shielded_checkpoint()
            return b""
        except SSL.Error as error:
            await self._fail(error)
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return data
        try:
            return await self._drive(lambda: self._connection.recv(max_bytes))
        except SSL.ZeroReturnError:
            self._peer_closed = True
            return b""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt `data` (one record per 16 KiB) and write it, with anything pending, at once."""
        await self._send(data, last=False)

    async def send_last(self, data: bytes | bytearray | memoryview) -> None:
        """Send `data` and close_notify in the same write: the last thing this side says.

        Nothing may be sent afterwards; `aclose` then only closes the transport.
        """
        await self._send(data, last=True)

    async def _send(self, data: bytes | bytearray | memoryview, *, last: bool) -> None:
        if self._sending:
            raise trio.BusyResourceError("another task is already sending")
        self._sending = True
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            if not self._handshake_done:
                await self.do_handshake()
            self._check_usable()
            if self._said_goodbye:
                raise trio.ClosedResourceError("close_notify was already sent")
            try:
                if data:
                    self._connection.sendall(data)
                if last:
                    self._said_goodbye = True
                    self._connection.shutdown()
            except SSL.Error as error:
                # WantReadError included: only a renegotiation would make a write wait for
                # the peer, and the contexts refuse renegotiation (OP_NO_RENEGOTIATION).
                await self._fail(error)
            if not await self._flush():
                await trio.lowlevel.cancel_shielded_checkpoint()
        finally:
            self._sending = False

    async def wait_send_all_might_not_block(self) -> None:
        """`send_all` hands everything to the transport before returning: ask the transport."""
        if self._sending:
            raise trio.BusyResourceError("another task is already sending")
        self._sending = True
        try:
            self._check_usable()
            await self.transport_stream.wait_send_all_might_not_block()
        finally:
            self._sending = False

    async def aclose(self) -> None:
        """Send close_notify (if the handshake completed) and close the transport.

        Does not wait for the peer's close_notify. Bound it with a deadline: a peer that reads
        nothing can hold the close_notify in the send buffer; on cancellation the transport
        is closed forcefully.
        """
        if self._state is _State.CLOSED:
            await trio.lowlevel.checkpoint()
            return
        was_ok = self._state is _State.OK and self._handshake_done
        self._state = _State.CLOSED
        try:
            if was_ok and not self._said_goodbye:
                with contextlib.suppress(SSL.Error):  # e.g. after a fatal alert: nothing to say
                    self._connection.shutdown()
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await self._flush()  # the peer may be gone: closing is all that is left
        except BaseException:
            await trio.aclose_forcefully(self.transport_stream)
            raise
        await self.transport_stream.aclose()

    # ---- moving bytes -----------------------------------------------------------------------

    async def _drive(self, operation: Callable[[], T]) -> T:
        """Run `operation` until OpenSSL stops asking for more bytes from the peer.

        Before every read from the transport, whatever OpenSSL has written is sent first (the
        peer may be waiting for it), except held-back tickets, which nobody waits for: sent
        before a read, they would block it on a transport that does not buffer (and reach a
        client that may already be closing). ZeroReturnError goes to the caller.
        """
        while True:
            if self._hello is None:  # until the ClientHello is whole, OpenSSL has nothing
                try:
                    return operation()
                except SSL.WantReadError:
                    pass
                except SSL.ZeroReturnError:
                    raise
                except SSL.Error as error:  # SysCallError included
                    await self._fail(error)
                await self._flush(with_delayed=False)
            try:
                data = await self.transport_stream.receive_some(_TRANSPORT_BYTES)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._state = _State.BROKEN
                raise
            if not data:
                self._state = _State.BROKEN
                raise trio.BrokenResourceError("peer closed the connection without close_notify")
            if self._hello is not None:
                self._hello += data
                if not self._hosts.start(self._connection, self._hello):
                    continue
                data, self._hello = bytes(self._hello), None
            self._connection.bio_write(data)

    async def _flush(self, *, with_delayed: bool = True) -> bool:
        """Send what OpenSSL has written to its outgoing BIO; whether there was anything.

        Held-back tickets go first whenever anything else goes (records must leave in the
        order OpenSSL sealed them), and alone only `with_delayed`.
        """
        lock = self._send_lock
        try:
            lock.acquire_nowait()  # uncontended: no extra scheduling point
        except trio.WouldBlock:
            await lock.acquire()
        try:
            data = self._take_outgoing()
            if self._delayed and (data or with_delayed):
                data, self._delayed = self._delayed + data, b""
            if not data:
                return False
            try:
                await self.transport_stream.send_all(data)
            except BaseException:
                # Part of a record may be out (cancelled mid-send): no way to continue.
                if self._state is _State.OK:
                    self._state = _State.BROKEN
                raise
            return True
        finally:
            lock.release()

    def _take_outgoing(self) -> bytes:
        """Everything OpenSSL has written so far (a memory BIO gives all it has, up to the
        size asked: a shorter read means it is empty, with no second read to find out)."""
        chunks = []
        while True:
            try:
                chunk = self._connection.bio_read(_BIO_BYTES)
            except SSL.WantReadError:
                break
            chunks.append(chunk)
            if len(chunk) < _BIO_BYTES:
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _fail(self, error: Exception) -> NoReturn:
        """Break the stream on an OpenSSL error, sending the alert OpenSSL wrote, if any."""
        self._state = _State.BROKEN
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._flush()
        raise trio.BrokenResourceError(f"TLS: {_describe(error)}") from error

    def _check_usable(self) -> None:
        if self._state is _State.CLOSED:
            raise trio.ClosedResourceError("the TLS stream is closed")
        if self._state is _State.BROKEN:
            raise trio.BrokenResourceError("the TLS stream is broken")


def _describe(error: Exception) -> str:
    """OpenSSL's reason for an error, e.g. 'unsupported protocol' or 'bad signature'."""
    if isinstance(error, SSL.SysCallError):
        return f"system call error {error.args}"
    if isinstance(error, SSL.WantReadError):
        return "peer asked for renegotiation"
    reasons = [entry[2] for entry in (error.args[0] if error.args else []) if len(entry) == 3]
    return ", ".join(reasons) or type(error).__name__
