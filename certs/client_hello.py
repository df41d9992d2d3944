"""Read the server name out of a TLS ClientHello as it arrives, before OpenSSL processes it."""

from __future__ import annotations

from dataclasses import dataclass

HANDSHAKE_RECORD = 22
_CLIENT_HELLO = 1
_SERVER_NAME = 0
_HOST_NAME = 0
_RECORD_HEADER = 5
MAX_HELLO_BYTES = 64 * 1024
"""More than any real ClientHello: past this the bytes go to OpenSSL unread."""


class NeedMore:
    """The bytes so far end inside the ClientHello."""


NEED_MORE = NeedMore()


@dataclass(frozen=True, slots=True)
class ServerName:
    """The host name a ClientHello asks for, as sent (ASCII), or None without SNI."""

    name: bytes | None


class Unreadable(ValueError):
    """Not a ClientHello this reader understands; OpenSSL will judge the bytes."""


def server_name(data: bytes | bytearray) -> ServerName | NeedMore:
    """The SNI of the ClientHello at the start of `data`, which may span several records.

    Only reads: OpenSSL parses and validates the same bytes right after. Raises `Unreadable`
    for anything but a well-formed ClientHello.
    """
    message = bytearray()
    position = 0
    while True:
        if len(data) < position + _RECORD_HEADER:
            return _need_more(data)
        if data[position] != HANDSHAKE_RECORD:
            raise Unreadable("not a handshake record")
        length = int.from_bytes(data[position + 3 : position + 5], "big")
        start = position + _RECORD_HEADER
        if len(data) < start + length:
            return _need_more(data)
        message += data[start : start + length]
        position = start + length
        if len(message) >= 4:
            if message[0] != _CLIENT_HELLO:
                raise Unreadable("the first handshake message is not a ClientHello")
            if len(message) >= 4 + int.from_bytes(message[1:4], "big"):
                return ServerName(_sni(bytes(message[: 4 + int.from_bytes(message[1:4], "big")])))


def _need_more(data: bytes | bytearray) -> NeedMore:
    if len(data) >= MAX_HELLO_BYTES:
        raise Unreadable("ClientHello too long")
    return NEED_MORE


def _sni(message: bytes) -> bytes | None:
    """The host_name of the server_name extension in a whole ClientHello message."""
    try:
        position = 4 + 2 + 32  # handshake header, legacy_version, random
        position += 1 + message[position]  # legacy_session_id
        position += 2 + _u16(message, position)  # cipher_suites
        position += 1 + message[position]  # legacy_compression_methods
        if position == len(message):
            return None  # no extensions at all
        end = position + 2 + _u16(message, position)
        position += 2
        if end > len(message):
            raise Unreadable("extensions run past the message")
        while position + 4 <= end:
            kind, size = _u16(message, position), _u16(message, position + 2)
            position += 4
            if kind == _SERVER_NAME:
                names = message[position + 2 : position + size]
                at = 0
                while at + 3 <= len(names):
                    name_size = _u16(names, at + 1)
                    if names[at] == _HOST_NAME:
                        return names[at + 3 : at + 3 + name_size]
                    at += 3 + name_size
                raise Unreadable("server_name without a host_name")
            position += size
    except IndexError as error:
        raise Unreadable("truncated ClientHello") from error
    return None


def _u16(data: bytes, at: int) -> int:
    if at + 2 > len(data):
        raise IndexError(at)
    return int.from_bytes(data[at : at + 2], "big")
