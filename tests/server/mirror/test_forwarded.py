"""Who a request is for behind a front: Forwarded and X-Forwarded-*, from trusted peers only."""

from __future__ import annotations

import ipaddress

import pytest

from server.mirror.forwarded import Reader, reader_of

FRONT = "127.0.0.1"
TRUSTED = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))


def headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in pairs]


@pytest.mark.parametrize(
    ("sent", "reader"),
    [
        ((), Reader(FRONT)),
        ((("X-Forwarded-For", "192.0.2.7"),), Reader("192.0.2.7")),
        (
            (("X-Forwarded-For", "192.0.2.7"), ("X-Forwarded-Proto", "https"),
             ("X-Forwarded-Host", "example.org")),
            Reader("192.0.2.7", "https", "example.org"),
        ),
        # A reader's own claim sits left of what the front appended: the front's entry wins.
        ((("X-Forwarded-For", "203.0.113.9, 192.0.2.7"),), Reader("192.0.2.7")),
        # Trusted hops are skipped from the right; the first untrusted address is the reader.
        ((("X-Forwarded-For", "192.0.2.7, 10.1.2.3"),), Reader("192.0.2.7")),
        ((("X-Forwarded-For", "192.0.2.7"), ("X-Forwarded-For", "10.1.2.3")), Reader("192.0.2.7")),
        # Only trusted addresses: the left-most one is as far as the chain can be followed.
        ((("X-Forwarded-For", "10.9.9.9, 10.1.2.3"),), Reader("10.9.9.9")),
        ((("X-Forwarded-For", "2001:db8::7"),), Reader("2001:db8::7")),
        ((("X-Forwarded-Proto", "https"),), Reader(FRONT, "https")),
        ((("X-Forwarded-For", "not-an-address"),), Reader(FRONT)),
        ((("X-Forwarded-For", "192.0.2.7"), ("X-Forwarded-Proto", "gopher")), Reader("192.0.2.7")),
        # -Proto paired with -For when both list as many values, else its last value.
        (
            (("X-Forwarded-For", "192.0.2.7, 10.1.2.3"), ("X-Forwarded-Proto", "https, http")),
            Reader("192.0.2.7", "https"),
        ),
        (
            (("X-Forwarded-For", "198.51.100.1, 192.0.2.7"), ("X-Forwarded-Proto", "https")),
            Reader("192.0.2.7", "https"),
        ),
        ((("Forwarded", "for=192.0.2.60;proto=https;host=example.org"),),
         Reader("192.0.2.60", "https", "example.org")),
        ((("Forwarded", 'for="[2001:db8:cafe::17]:4711";proto=https'),),
         Reader("2001:db8:cafe::17", "https")),
        ((("Forwarded", "for=203.0.113.9;proto=http, for=192.0.2.60;proto=https"),),
         Reader("192.0.2.60", "https")),
        ((("Forwarded", 'for=192.0.2.60, for="10.1.2.3:80";proto=http'),), Reader("192.0.2.60")),
        # An unknown or obfuscated sender: the nearest known address stands for it.
        ((("Forwarded", "for=unknown"),), Reader(FRONT)),
        ((("Forwarded", "for=_hidden, for=10.1.2.3"),), Reader("10.1.2.3")),
        ((("Forwarded", "for=192.0.2.60;;;"),), Reader(FRONT)),
        # X-Forwarded-For wins: common fronts set it and pass a reader's Forwarded on.
        ((("Forwarded", "for=192.0.2.60;proto=https"), ("X-Forwarded-For", "192.0.2.99")),
         Reader("192.0.2.99")),
    ],
)
def test_a_trusted_front_names_the_reader(
    sent: tuple[tuple[str, str], ...], reader: Reader
) -> None:
    assert reader_of(FRONT, headers(*sent), TRUSTED) == reader


@pytest.mark.parametrize("peer", ["192.0.2.1", "::1"])
def test_headers_from_an_untrusted_peer_are_ignored(peer: str) -> None:
    sent = headers(("X-Forwarded-For", "192.0.2.7"), ("X-Forwarded-Proto", "https"),
                   ("Forwarded", "for=192.0.2.60;proto=https;host=evil.example"))
    assert reader_of(peer, sent, TRUSTED) == Reader(peer)


def test_without_trusted_proxies_no_peer_may_forward() -> None:
    assert reader_of(FRONT, headers(("X-Forwarded-For", "192.0.2.7")), ()) == Reader(FRONT)


def test_an_ipv4_mapped_peer_is_trusted_as_its_ipv4_address() -> None:
    sent = headers(("X-Forwarded-For", "192.0.2.7"))
    assert reader_of("::ffff:127.0.0.1", sent, TRUSTED) == Reader("192.0.2.7")
