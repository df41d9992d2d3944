"""The PROXY protocol (versions 1 and 2) without I/O: the header a load balancer sends first."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

V1_PREFIX = b"PROXY "
V1_MAX_BYTES = 107
"""The longest version 1 line the specification allows, CRLF included."""
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_FIXED_BYTES = 16
"""Signature, version and command, family and transport, and the two-byte length."""
DEFAULT_MAX_HEADER_BYTES = 4096
MIN_MAX_HEADER_BYTES = V2_FIXED_BYTES + 216
"""Room for the largest address block (AF_UNIX), so no valid bare header is refused."""

_LOCAL = 0x0
_PROXY = 0x1
_UNSPEC = 0x0
_INET = 0x1
_INET6 = 0x2
_UNIX = 0x3
_STREAM = 0x1
_DGRAM = 0x2
_ADDRESS_BYTES = {_UNSPEC: 0, _INET: 12, _INET6: 36, _UNIX: 216}
_PORT = re.compile(rb"0|[1-9][0-9]{0,4}")

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """The addresses of a proxied connection as the proxy saw them."""

    source: Address | None
    """The client's address; None when the proxy sent none (v1 UNKNOWN, v2 LOCAL, UNSPEC, UNIX)."""
    destination: Address | None
    """The address the client connected to; None exactly when `source` is."""


@dataclass(frozen=True, slots=True)
class ProxyError:
    """The connection does not start with a valid PROXY header; `reason` says why."""

    reason: str


_NO_ADDRESS = ProxyHeader(None, None)
_Parsed = tuple[ProxyHeader, int] | ProxyError | None


class ProxyHeaderReader:
    """Accumulates a connection's first bytes until its PROXY header is complete or invalid."""

    def __init__(self, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> None:
        if max_header_bytes < MIN_MAX_HEADER_BYTES:
            raise ValueError(f"max_header_bytes must be at least {MIN_MAX_HEADER_BYTES}")
        self._max_header_bytes = max_header_bytes
        self._buffer = bytearray()
        self._result: ProxyHeader | ProxyError | None = None
        self._header_bytes = 0

    def feed(self, data: bytes | bytearray) -> ProxyHeader | ProxyError | None:
        """Add received bytes; return the header, an error, or None while more bytes are needed.

        A result is final: later calls return it again, and bytes fed after a header join the
        remainder.
        """
        if isinstance(self._result, ProxyError):
            return self._result
        self._buffer += data
        if self._result is None:
            parsed = _parse(self._buffer, self._max_header_bytes)
            if isinstance(parsed, tuple):
                self._result, self._header_bytes = parsed
            else:
                self._result = parsed
        return self._result

    def remainder(self) -> bytes:
        """The bytes received after the header (the start of the TLS handshake); empty before."""
        if not isinstance(self._result, ProxyHeader):
            return b""
        return bytes(self._buffer[self._header_bytes :])

    def eof(self) -> ProxyError:
        """The error for a connection that closed before its header was complete."""
        return ProxyError("connection closed before the end of the PROXY header")


def _parse(buffer: bytearray, max_header_bytes: int) -> _Parsed:
    """Decide on a header from the bytes so far; None while they are a prefix of a valid one."""
    if buffer.startswith(V2_SIGNATURE):
        return _parse_v2(buffer, max_header_bytes)
    if buffer.startswith(V1_PREFIX):
        return _parse_v1(buffer)
    if V2_SIGNATURE.startswith(buffer) or V1_PREFIX.startswith(buffer):
        return None
    return ProxyError("connection does not start with a PROXY protocol signature")


def _parse_v1(buffer: bytearray) -> _Parsed:
    """Parse a version 1 line: 'PROXY TCP4|TCP6 SRC DST SPORT DPORT' or 'PROXY UNKNOWN ...'."""
    end = buffer.find(b"\n", 0, V1_MAX_BYTES)
    if end == -1:
        if len(buffer) < V1_MAX_BYTES:
            return None
        return ProxyError(f"PROXY v1 line longer than {V1_MAX_BYTES} bytes")
    if buffer[end - 1] != ord("\r"):
        return ProxyError("PROXY v1 line must end with CRLF")
    fields = bytes(buffer[: end - 1]).split(b" ")
    if fields[1] == b"UNKNOWN":
        # The specification has receivers ignore whatever follows UNKNOWN.
        return _NO_ADDRESS, end + 1
    if len(fields) != 6:
        return ProxyError("PROXY v1 line must be PROTOCOL SOURCE DESTINATION SPORT DPORT")
    _, protocol, source, destination, source_port, destination_port = fields
    version = {b"TCP4": 4, b"TCP6": 6}.get(protocol)
    if version is None:
        return ProxyError("PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN")
    source_address = _v1_address(source, source_port, version)
    destination_address = _v1_address(destination, destination_port, version)
    if source_address is None or destination_address is None:
        return ProxyError(f"PROXY v1 line has an invalid TCP{version} address or port")
    return ProxyHeader(source_address, destination_address), end + 1


def _v1_address(host: bytes, port: bytes, version: int) -> Address | None:
    """An address of the given IP version and a decimal port, or None if either is malformed."""
    if not _PORT.fullmatch(port) or int(port) > 65535:
        return None
    try:
        text = host.decode("ascii")
        address = ipaddress.ip_address(text)
    except (UnicodeDecodeError, ValueError):
        return None
    if address.version != version or "%" in text:
        return None
    return str(address), int(port)


def _parse_v2(buffer: bytearray, max_header_bytes: int) -> _Parsed:
    """Parse a version 2 binary header, skipping any TLVs after the address block."""
    if len(buffer) < V2_FIXED_BYTES:
        return None
    version_command, family_transport = buffer[12], buffer[13]
    total = V2_FIXED_BYTES + int.from_bytes(buffer[14:16], "big")
    if version_command >> 4 != 2:
        return ProxyError("PROXY header version must be 2")
    command = version_command & 0x0F
    if command not in (_LOCAL, _PROXY):
        return ProxyError("PROXY v2 command must be LOCAL or PROXY")
    if total > max_header_bytes:
        return ProxyError(f"PROXY v2 header longer than {max_header_bytes} bytes")
    family, transport = family_transport >> 4, family_transport & 0x0F
    if command == _PROXY:
        error = _v2_family_error(family, transport, total - V2_FIXED_BYTES)
        if error is not None:
            return error
    if len(buffer) < total:
        return None
    # LOCAL is the proxy's own connection (e.g. a health check): its address block is ignored.
    if command == _LOCAL or family in (_UNSPEC, _UNIX):
        return _NO_ADDRESS, total
    size = 4 if family == _INET else 16
    block = bytes(buffer[V2_FIXED_BYTES:total])
    source = ipaddress.ip_address(block[:size])
    destination = ipaddress.ip_address(block[size : 2 * size])
    ports = block[2 * size : 2 * size + 4]
    return (
        ProxyHeader(
            (str(source), int.from_bytes(ports[:2], "big")),
            (str(destination), int.from_bytes(ports[2:], "big")),
        ),
        total,
    )


def _v2_family_error(family: int, transport: int, length: int) -> ProxyError | None:
    """Why a PROXY command's family, transport and length are unacceptable, or None."""
    if family not in _ADDRESS_BYTES or transport not in (_UNSPEC, _STREAM, _DGRAM):
        return ProxyError("PROXY v2 address family or transport is invalid")
    if family in (_INET, _INET6) and transport != _STREAM:
        return ProxyError("PROXY v2 header is for a non-TCP connection")
    if length < _ADDRESS_BYTES[family]:
        return ProxyError("PROXY v2 length is shorter than its address block")
    return None
