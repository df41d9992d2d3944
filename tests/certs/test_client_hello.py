"""The early SNI reader on ClientHellos written by OpenSSL: every split, every framing, no crash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from OpenSSL import SSL

from certs.client_hello import (
    MAX_HELLO_BYTES,
    NEED_MORE,
    ServerName,
    Unreadable,
    server_name,
)
from tests.tls_harness import client_hello, handshake_messages, in_records, reframe

VERSIONS = pytest.mark.parametrize(
    "max_version", [SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION], ids=["tls1.2", "tls1.3"]
)
# ClientHellos are made once: hypothesis then only cuts and reframes them.
HELLOS = {
    (name, version): client_hello(name, version)
    for name in (b"localhost", b"gemini.example.org", None)
    for version in (SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION)
}
SOME_HELLO = st.sampled_from(sorted(HELLOS.items(), key=repr))
FUZZ = settings(max_examples=200, deadline=None)
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)
HOST_NAMES = st.lists(LABEL, min_size=1, max_size=5).map(".".join).filter(lambda n: len(n) < 254)


@VERSIONS
@pytest.mark.parametrize("name", [b"localhost", b"a.example", b"xn--bcher-kva.example"])
def test_reads_the_name_the_client_sent(name: bytes, max_version: int) -> None:
    assert server_name(client_hello(name, max_version)) == ServerName(name)


@VERSIONS
def test_a_hello_without_sni_reads_as_no_name(max_version: int) -> None:
    assert server_name(client_hello(None, max_version)) == ServerName(None)


@FUZZ
@given(name=HOST_NAMES)
def test_reads_any_host_name(name: str) -> None:
    assert server_name(client_hello(name.encode())) == ServerName(name.encode())


@FUZZ
@given(hello=SOME_HELLO, cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_every_prefix_needs_more_and_the_whole_hello_reads_the_same(
    hello: tuple[tuple[bytes | None, int], bytes], cuts: list[int]
) -> None:
    """However the bytes arrive, the reader waits for the whole hello, then reads its name."""
    (name, _), records = hello
    for cut in cuts:
        assert server_name(records[: cut % len(records)]) is NEED_MORE
    assert server_name(records) == ServerName(name)


@FUZZ
@given(
    hello=SOME_HELLO,
    sizes=st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_a_hello_split_across_records_reads_the_same(
    hello: tuple[tuple[bytes | None, int], bytes], sizes: list[int], cuts: list[int]
) -> None:
    (name, _), records = hello
    reframed = reframe(records, sizes)
    for cut in cuts:
        assert server_name(reframed[: cut % len(reframed)]) is NEED_MORE
    assert server_name(reframed) == ServerName(name)


@FUZZ
@given(hello=SOME_HELLO, after=st.binary(max_size=100))
def test_bytes_after_the_hello_do_not_matter(
    hello: tuple[tuple[bytes | None, int], bytes], after: bytes
) -> None:
    (name, _), records = hello
    assert server_name(records + after) == ServerName(name)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x16", b"\x16\x03\x01", b"\x16\x03\x01\x02\x00", b"\x16\x03\x01\x02\x00\x01\x00"],
    ids=["nothing", "content-type", "no-length", "header", "inside-the-record"],
)
def test_a_partial_record_needs_more(data: bytes) -> None:
    assert server_name(data) is NEED_MORE


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.0\r\n\r\n",  # plain HTTP
        b"gemini://localhost/\r\n",  # a Gemini request without TLS
        b"\x17\x03\x03\x00\x05hello",  # application data before any handshake
        b"\x80\x2e\x01\x03\x01",  # an SSLv2-style hello
        b"\x16\x03\x03\x00\x04\x02\x00\x00\x00",  # a ServerHello
    ],
    ids=["http", "gemini", "application-data", "sslv2", "server-hello"],
)
def test_anything_but_a_client_hello_is_unreadable(data: bytes) -> None:
    with pytest.raises(Unreadable):
        server_name(data)


def test_a_hello_whose_extensions_run_past_it_is_unreadable() -> None:
    message = bytearray(handshake_messages(client_hello(b"localhost")))
    del message[-10:]  # the message ends early, its extensions' length still says otherwise
    message[1:4] = (len(message) - 4).to_bytes(3, "big")
    with pytest.raises(Unreadable):
        server_name(in_records(bytes(message), [len(message)]))


def test_a_server_name_without_a_host_name_is_unreadable() -> None:
    name = b"localhost"
    records = bytearray(client_hello(name))
    # The one entry of the server_name list: type host_name (0) and the name's length.
    entry = records.index(b"\x00" + len(name).to_bytes(2, "big") + name)
    records[entry] = 1  # an unknown name type, and no host_name left
    with pytest.raises(Unreadable):
        server_name(bytes(records))


def test_a_hello_longer_than_any_real_one_is_unreadable() -> None:
    # A record header announcing a hello that never ends within the limit.
    endless = in_records(b"\x01\xff\xff\xff" + bytes(MAX_HELLO_BYTES), [16384])
    assert server_name(endless[: MAX_HELLO_BYTES - 1]) is NEED_MORE
    with pytest.raises(Unreadable, match="too long"):
        server_name(endless[:MAX_HELLO_BYTES])


def _as_client_hello(body: bytes) -> bytes:
    """`body` framed as a ClientHello message in one record, so the reader looks inside."""
    return in_records(b"\x01" + len(body).to_bytes(3, "big") + body, [16384])


@FUZZ
@given(data=st.one_of(st.binary(max_size=600), st.binary(max_size=600).map(_as_client_hello)))
def test_arbitrary_bytes_read_as_a_result_or_unreadable(data: bytes) -> None:
    try:
        result = server_name(data)
    except Unreadable:
        return
    assert result is NEED_MORE or isinstance(result, ServerName)


@FUZZ
@given(hello=SOME_HELLO, position=st.integers(min_value=0), value=st.integers(0, 255))
def test_a_damaged_hello_reads_as_a_result_or_unreadable(
    hello: tuple[tuple[bytes | None, int], bytes], position: int, value: int
) -> None:
    """One byte changed anywhere: a name, a wait, or Unreadable; never another exception."""
    _, records = hello
    damaged = bytearray(records)
    damaged[position % len(damaged)] = value
    try:
        result = server_name(bytes(damaged))
    except Unreadable:
        return
    assert result is NEED_MORE or isinstance(result, ServerName)
