"""Which peers may speak for the readers behind them: the `trusted_proxies` rule, without I/O."""

from __future__ import annotations

import functools
import ipaddress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=4096)
def _parsed(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def listed(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    """Whether `address` lies in one of `networks` (an IPv4-mapped IPv6 address as IPv4)."""
    parsed = _parsed(address)
    return parsed is not None and any(parsed in network for network in networks)


def may_send_proxy_header(peer: str, networks: tuple[IPNetwork, ...]) -> bool:
    """Whether `peer` may open a connection with a PROXY header. With no list, any peer may:
    the PROXY protocol is switched on explicitly and then required on every connection."""
    return not networks or listed(peer, networks)


def may_forward(peer: str, networks: tuple[IPNetwork, ...]) -> bool:
    """Whether `peer` may name the reader in `Forwarded` or `X-Forwarded-*` headers: only a
    listed one, since any client can send those headers."""
    return listed(peer, networks)
