"""The sans-I/O PROXY protocol reader: versions 1 and 2, limits, and chunking."""

from __future__ import annotations

import ipaddress
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.proxy_protocol import (
    DEFAULT_MAX_HEADER_BYTES,
    MIN_MAX_HEADER_BYTES,
    V2_SIGNATURE,
    ProxyError,
    ProxyHeader,
    ProxyHeaderReader,
)

CLIENT_HELLO_START = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
NO_ADDRESS = ProxyHeader(None, None)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOCAL, PROXY = 0x0, 0x1
UNSPEC, INET, INET6, UNIX = 0x0, 0x1, 0x2, 0x3
STREAM, DGRAM = 0x1, 0x2


def v2(
    block: bytes = b"",
    command: int = PROXY,
    family: int = INET,
    transport: int = STREAM,
    version: int = 2,
    length: int | None = None,
) -> bytes:
    """A version 2 header around an address block (and any TLVs appended to it)."""
    size = len(block) if length is None else length
    first = bytes([version << 4 | command, family << 4 | transport])
    return V2_SIGNATURE + first + size.to_bytes(2, "big") + block


def addresses(source: str, destination: str, source_port: int, destination_port: int) -> bytes:
    """A version 2 INET or INET6 address block."""
    return (
        ipaddress.ip_address(source).packed
        + ipaddress.ip_address(destination).packed
        + source_port.to_bytes(2, "big")
        + destination_port.to_bytes(2, "big")
    )


def read(data: bytes, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> ProxyHeader | ProxyError:
    """Feed everything at once; the result must be decided."""
    result = ProxyHeaderReader(max_header_bytes).feed(data)
    assert result is not None
    return result


def read_in_chunks(data: bytes, cuts: list[int]) -> tuple[ProxyHeader | ProxyError | None, bytes]:
    """Feed `data` split at `cuts`; return the last result and the remainder."""
    reader = ProxyHeaderReader()
    result = None
    for start, end in pairwise([0, *sorted(cuts), len(data)]):
        result = reader.feed(data[start:end])
    return result, reader.remainder()


# --- version 1 -----------------------------------------------------------------------------------

V1_VALID = [
    (
        b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n",
        ProxyHeader(("192.0.2.1", 56324), ("198.51.100.2", 1965)),
    ),
    (
        b"PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n",
        ProxyHeader(("2001:db8::1", 0), ("2001:db8::2", 65535)),
    ),
    (
        b"PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 2\r\n",
        ProxyHeader(("2001:db8::1", 1), ("::1", 2)),
    ),
    (b"PROXY UNKNOWN\r\n", NO_ADDRESS),
    (b"PROXY UNKNOWN 192.0.2.1 198.51.100.2 56324 1965\r\n", NO_ADDRESS),
    (b"PROXY UNKNOWN " + b"x" * 91 + b"\r\n", NO_ADDRESS),
]

V1_INVALID = [
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\r\n",
    b"PROXY TCP5 192.0.2.1 198.51.100.2 56324 1965\r\n",
    b"PROXY tcp4 192.0.2.1 198.51.100.2 56324 1965\r\n",
    b"PROXY UDP4 192.0.2.1 198.51.100.2 56324 1965\r\n",
    b"PROXY TCP4 2001:db8::1 198.51.100.2 56324 1965\r\n",
    b"PROXY TCP6 192.0.2.1 2001:db8::2 56324 1965\r\n",
    b"PROXY TCP4 192.0.2.01 198.51.100.2 56324 1965\r\n",
    b"PROXY TCP4 192.0.2 198.51.100.2 56324 1965\r\n",
    b"PROXY TCP4 localhost 198.51.100.2 56324 1965\r\n",
    b"PROXY TCP6 fe80::1%eth0 2001:db8::2 56324 1965\r\n",
    b"PROXY TCP4 192.0.2.\xff 198.51.100.2 56324 1965\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 056324 1965\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 1965\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 +1 1965\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 -1 1965\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 0x10 1965\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 \xd9\xa1 1965\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2  1965\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965 \r\n",
    b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965 extra\r\n",
    b"PROXY  TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n",
    b"PROXY UNKNOWNX\r\n",
    b"PROXY \r\n",
    b"PROXY\r\n",
    b"PROXY UNKNOWN " + b"x" * 92 + b"\r\n",
]


@pytest.mark.parametrize(("line", "expected"), V1_VALID)
def test_valid_v1_line_gives_its_addresses(line: bytes, expected: ProxyHeader) -> None:
    assert read(line) == expected


@pytest.mark.parametrize("line", V1_INVALID)
def test_malformed_v1_line_is_an_error(line: bytes) -> None:
    assert isinstance(read(line), ProxyError)


def test_v1_line_without_crlf_in_107_bytes_is_an_error_without_more_input() -> None:
    assert isinstance(read(b"PROXY UNKNOWN " + b"x" * 93), ProxyError)


def test_v1_line_waits_for_its_end() -> None:
    reader = ProxyHeaderReader()
    assert reader.feed(b"PROXY TCP4 192.0.2.1 198.51.") is None
    assert reader.feed(b"100.2 56324 1965\r") is None
    assert reader.feed(b"\n") == ProxyHeader(("192.0.2.1", 56324), ("198.51.100.2", 1965))


# --- version 2 -----------------------------------------------------------------------------------

INET_BLOCK = addresses("192.0.2.1", "198.51.100.2", 56324, 1965)
INET6_BLOCK = addresses("2001:db8::1", "2001:db8::2", 0, 65535)
TLVS = b"\x04\x00\x02ok" + b"\x20\x00\x05\x07\x00\x00\x00\x00"

V2_VALID = [
    (v2(INET_BLOCK), ProxyHeader(("192.0.2.1", 56324), ("198.51.100.2", 1965))),
    (v2(INET6_BLOCK, family=INET6), ProxyHeader(("2001:db8::1", 0), ("2001:db8::2", 65535))),
    (v2(INET_BLOCK + TLVS), ProxyHeader(("192.0.2.1", 56324), ("198.51.100.2", 1965))),
    (v2(command=LOCAL, family=UNSPEC, transport=UNSPEC), NO_ADDRESS),
    (v2(INET_BLOCK, command=LOCAL), NO_ADDRESS),
    (v2(command=LOCAL, family=0xF, transport=0xF), NO_ADDRESS),
    (v2(command=PROXY, family=UNSPEC, transport=UNSPEC), NO_ADDRESS),
    (v2(TLVS, command=PROXY, family=UNSPEC, transport=STREAM), NO_ADDRESS),
    (v2(b"/run/a".ljust(108, b"\0") * 2, family=UNIX), NO_ADDRESS),
    (v2(bytes(216), family=UNIX, transport=DGRAM), NO_ADDRESS),
]

V2_INVALID = [
    v2(INET_BLOCK, version=1),
    v2(INET_BLOCK, version=3),
    v2(INET_BLOCK, command=0x2),
    v2(INET_BLOCK, command=0xF),
    v2(INET_BLOCK, family=0x4),
    v2(INET_BLOCK, transport=0x3),
    v2(INET_BLOCK, transport=DGRAM),
    v2(INET_BLOCK, transport=UNSPEC),
    v2(INET_BLOCK[:11]),
    v2(INET6_BLOCK[:35], family=INET6),
    v2(INET_BLOCK, family=INET6),
    v2(bytes(215), family=UNIX),
    V2_SIGNATURE[:-1] + b"\x0b" + v2(INET_BLOCK)[12:],
]


@pytest.mark.parametrize(("header", "expected"), V2_VALID)
def test_valid_v2_header_gives_its_addresses(header: bytes, expected: ProxyHeader) -> None:
    assert read(header) == expected


@pytest.mark.parametrize("header", V2_INVALID)
def test_malformed_v2_header_is_an_error(header: bytes) -> None:
    assert isinstance(read(header), ProxyError)


def test_v2_header_waits_for_its_announced_length() -> None:
    reader = ProxyHeaderReader()
    header = v2(INET_BLOCK + TLVS)
    assert reader.feed(header[:-1]) is None
    assert isinstance(reader.feed(header[-1:]), ProxyHeader)


def test_v2_header_over_the_cap_is_refused_from_its_fixed_part() -> None:
    header = v2(length=DEFAULT_MAX_HEADER_BYTES - 16 + 1)
    assert isinstance(read(header), ProxyError)


def test_v2_header_exactly_at_the_cap_is_accepted() -> None:
    header = v2(INET_BLOCK + bytes(MIN_MAX_HEADER_BYTES - 16 - len(INET_BLOCK)))
    assert isinstance(read(header, MIN_MAX_HEADER_BYTES), ProxyHeader)
    longer = v2(INET_BLOCK + bytes(MIN_MAX_HEADER_BYTES - 16 - len(INET_BLOCK) + 1))
    assert isinstance(read(longer, MIN_MAX_HEADER_BYTES), ProxyError)


def test_cap_too_small_for_an_address_block_is_refused() -> None:
    with pytest.raises(ValueError, match="max_header_bytes"):
        ProxyHeaderReader(MIN_MAX_HEADER_BYTES - 1)


# --- no header -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [CLIENT_HELLO_START, b"GET / HTTP/1.1\r\n", b"proxy TCP4", b"PROXY2", b"\r\n\r\n\x01", b"\x00"],
)
def test_connection_without_a_signature_is_an_error(data: bytes) -> None:
    assert isinstance(read(data), ProxyError)


def test_tls_client_hello_is_refused_at_its_first_byte() -> None:
    assert isinstance(ProxyHeaderReader().feed(CLIENT_HELLO_START[:1]), ProxyError)


@pytest.mark.parametrize("data", [b"", b"PROX", b"PROXY ", V2_SIGNATURE[:5], V2_SIGNATURE])
def test_prefix_of_a_signature_needs_more_bytes(data: bytes) -> None:
    assert ProxyHeaderReader().feed(data) is None


def test_eof_before_the_header_ends_is_an_error() -> None:
    assert isinstance(ProxyHeaderReader().eof(), ProxyError)


# --- remainder and finality ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [V1_VALID[0][0], v2(INET_BLOCK + TLVS)])
def test_bytes_after_the_header_are_the_remainder(header: bytes) -> None:
    reader = ProxyHeaderReader()
    assert reader.remainder() == b""
    first = reader.feed(header + CLIENT_HELLO_START[:4])
    assert isinstance(first, ProxyHeader)
    assert reader.feed(CLIENT_HELLO_START[4:]) == first
    assert reader.remainder() == CLIENT_HELLO_START


def test_error_is_final_and_leaves_no_remainder() -> None:
    reader = ProxyHeaderReader()
    error = reader.feed(CLIENT_HELLO_START)
    assert isinstance(error, ProxyError)
    assert reader.feed(V1_VALID[0][0]) == error
    assert reader.remainder() == b""


# --- properties ----------------------------------------------------------------------------------

ipv4 = st.ip_addresses(v=4)
ipv6 = st.ip_addresses(v=6)
ports = st.integers(0, 65535)
tails = st.binary(max_size=64)


@st.composite
def v1_lines(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from([4, 6]))
    ips = ipv4 if version == 4 else ipv6
    fields = [f"TCP{version}", str(draw(ips)), str(draw(ips)), str(draw(ports)), str(draw(ports))]
    return f"PROXY {' '.join(fields)}\r\n".encode()


@st.composite
def v2_headers(draw: st.DrawFn) -> bytes:
    family = draw(st.sampled_from([INET, INET6]))
    ips = ipv4 if family == INET else ipv6
    block = addresses(str(draw(ips)), str(draw(ips)), draw(ports), draw(ports))
    return v2(block + draw(st.binary(max_size=40)), family=family)


@st.composite
def near_headers(draw: st.DrawFn) -> bytes:
    """Valid headers, some with one byte changed, some cut short, followed by anything."""
    header = bytearray(draw(st.one_of(v1_lines(), v2_headers())))
    index = draw(st.integers(0, len(header) - 1))
    mutation = draw(st.sampled_from(["none", "replace", "cut"]))
    if mutation == "replace":
        header[index] = draw(st.integers(0, 255))
    elif mutation == "cut":
        del header[index:]
    return bytes(header) + draw(tails)


any_input = st.one_of(st.binary(max_size=300), near_headers())


@given(any_input)
def test_reader_always_returns_a_result_or_asks_for_more(data: bytes) -> None:
    result = ProxyHeaderReader().feed(data)
    assert result is None or isinstance(result, ProxyHeader | ProxyError)


@given(any_input)
def test_byte_by_byte_equals_all_at_once(data: bytes) -> None:
    at_once = read_in_chunks(data, [])
    assert read_in_chunks(data, list(range(1, len(data)))) == at_once


@given(any_input, st.lists(st.integers(0, 400), max_size=8))
def test_any_chunking_equals_all_at_once(data: bytes, cuts: list[int]) -> None:
    cuts = [cut for cut in cuts if cut <= len(data)]
    assert read_in_chunks(data, cuts) == read_in_chunks(data, [])


@given(st.sampled_from([ipv4, ipv6]).flatmap(lambda ips: st.tuples(ips, ips)), ports, ports, tails)
def test_v1_round_trip(
    ips: tuple[IPAddress, IPAddress],
    source_port: int,
    destination_port: int,
    tail: bytes,
) -> None:
    source, destination = ips
    protocol = f"TCP{source.version}"
    line = f"PROXY {protocol} {source} {destination} {source_port} {destination_port}\r\n"
    reader = ProxyHeaderReader()
    expected = ProxyHeader((str(source), source_port), (str(destination), destination_port))
    assert reader.feed(line.encode() + tail) == expected
    assert reader.remainder() == tail


@given(
    st.sampled_from([ipv4, ipv6]).flatmap(lambda ips: st.tuples(ips, ips)),
    ports,
    ports,
    st.binary(max_size=200),
    tails,
)
def test_v2_round_trip(
    ips: tuple[IPAddress, IPAddress],
    source_port: int,
    destination_port: int,
    tlvs: bytes,
    tail: bytes,
) -> None:
    source, destination = ips
    family = INET if source.version == 4 else INET6
    block = addresses(str(source), str(destination), source_port, destination_port)
    reader = ProxyHeaderReader()
    expected = ProxyHeader((str(source), source_port), (str(destination), destination_port))
    assert reader.feed(v2(block + tlvs, family=family) + tail) == expected
    assert reader.remainder() == tail
