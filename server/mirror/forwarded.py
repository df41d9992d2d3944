"""Who a request is for when a trusted front forwards it: `Forwarded` (RFC 7239) and
`X-Forwarded-For` / `-Proto` / `-Host`, without I/O."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from server.proxies import IPNetwork, listed, may_forward

SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class Reader:
    """The reader behind a request: their address, the scheme they used and, when a front
    says so, the host they asked for (else the request's own `Host`)."""

    address: str
    scheme: str = "http"
    host: str | None = None


@dataclass(frozen=True, slots=True)
class _Hop:
    """One proxy's account of the connection it received: who sent it, how, for which host."""

    address: str | None
    """The sender's IP address; None for `unknown`, an obfuscated name or garbage."""
    scheme: str | None = None
    host: str | None = None


_ELEMENT = re.compile(r'\s*([^=;,\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*([;,]|$)')


def reader_of(
    peer: str,
    headers: Iterable[tuple[bytes, bytes]],
    trusted: tuple[IPNetwork, ...],
    scheme: str = "http",
) -> Reader:
    """The reader of a request that came from `peer` (already the PROXY header's client, if
    any) over `scheme`. Headers count only from a trusted peer; along a chain, the reader is
    the right-most address that is not a trusted proxy, and the scheme and host are what that
    hop reported (the connection's scheme where it reported none)."""
    if not may_forward(peer, trusted):
        return Reader(peer, scheme)
    fields: dict[bytes, list[str]] = {}
    for name, value in headers:
        if name in (b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"):
            fields.setdefault(name, []).append(value.decode("latin-1"))
    # X-Forwarded-For first: nginx, Caddy and HAProxy set it, and pass a `Forwarded` header
    # from the reader on untouched, so that one is believed only when no front set the other.
    if b"x-forwarded-for" in fields or b"forwarded" not in fields:
        hops = _x_forwarded_hops(peer, fields)
    else:
        hops = _forwarded_hops(",".join(fields[b"forwarded"]))
    if hops is None:
        return Reader(peer, scheme)
    address, chosen = peer, None
    for hop in reversed(hops):
        if hop.address is None:
            break  # an unknown sender: the last address known stands for it
        address, chosen = hop.address, hop
        if not listed(hop.address, trusted):
            break
    if chosen is None:
        return Reader(peer, scheme)
    reported = chosen.scheme if chosen.scheme in SCHEMES else scheme
    return Reader(address, reported, chosen.host)


def _forwarded_hops(value: str) -> list[_Hop] | None:
    """The elements of a `Forwarded` value in order; None if it does not parse."""
    hops: list[_Hop] = []
    pairs: dict[str, str] = {}
    position = 0
    value = value.strip()
    while position < len(value):
        match = _ELEMENT.match(value, position)
        if match is None:
            return None
        name, raw, separator = match.group(1).lower(), match.group(2), match.group(3)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        pairs.setdefault(name, raw)
        position = match.end()
        if separator != ";":
            hops.append(_Hop(_node_address(pairs.get("for", "")), _scheme(pairs.get("proto")),
                             pairs.get("host") or None))
            pairs = {}
    return hops or None


def _node_address(node: str) -> str | None:
    """The IP address of a `for=` node (`192.0.2.7`, `192.0.2.7:80`, `[2001:db8::1]:80`)."""
    if node.startswith("["):
        node = node[1:].partition("]")[0]
    elif node.count(":") == 1:
        node = node.partition(":")[0]
    return _address(node)


def _x_forwarded_hops(peer: str, fields: dict[bytes, list[str]]) -> list[_Hop] | None:
    """Hops from `X-Forwarded-For` (the peer itself without one); `-Proto` and `-Host` pair
    with its addresses when they list as many values, else their last value (the nearest
    front's) goes with every hop."""
    addresses = _list(fields.get(b"x-forwarded-for", [peer]))
    if not addresses:
        return None
    schemes = _list(fields.get(b"x-forwarded-proto", []))
    hosts = _list(fields.get(b"x-forwarded-host", []))
    return [
        _Hop(_address(address), _scheme(_aligned(schemes, index, len(addresses))),
             _aligned(hosts, index, len(addresses)))
        for index, address in enumerate(addresses)
    ]


def _list(values: list[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _aligned(values: list[str], index: int, count: int) -> str | None:
    if not values:
        return None
    return values[index] if len(values) == count else values[-1]


def _scheme(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None
