"""A connection from a PROXY protocol front: its header read under a deadline, the client it
names, and the bytes that came after it."""

from __future__ import annotations

import logging

import trio

from server.accesslog import ERROR_LOGGER
from server.proxy_protocol import ProxyError, ProxyHeader, ProxyHeaderReader

logger = logging.getLogger(ERROR_LOGGER)

_RECEIVE_BYTES = 16 * 1024
_TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError)


async def receive_proxy_header(
    stream: trio.abc.ReceiveStream, peer: str, timeout: float
) -> tuple[str, bytes] | None:
    """The client a front's PROXY header names (`peer` itself for LOCAL or UNKNOWN) and the
    bytes read past the header; None, logged, for a missing or invalid header."""
    reader = ProxyHeaderReader()
    result: ProxyHeader | ProxyError | None = None
    with trio.move_on_after(timeout):
        try:
            while result is None:
                data = await stream.receive_some(_RECEIVE_BYTES)
                result = reader.feed(data) if data else reader.eof()
        except _TRANSPORT_ERRORS as error:
            cause = error.__cause__ or error.__context__
            result = ProxyError(str(cause or error) or type(error).__name__)
    if not isinstance(result, ProxyHeader):
        reason = result.reason if result else "no PROXY header in time"
        logger.info("%s: refused: %s", peer, reason)
        return None
    client = result.source[0] if result.source else peer
    return client, reader.remainder()
