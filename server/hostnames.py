"""Host names: kept and matched in their ASCII (IDNA) form, shown to people in Unicode.

`café.example` is stored as `xn--caf-dma.example`, the form DNS, SNI and certificates carry.
The conversion is IDNA 2008 with the UTS #46 mapping (the `idna` package), as browsers and
resolvers do it; the standard library's codec is IDNA 2003, which turns `straße.de` into
`strasse.de`, another domain.
"""

from __future__ import annotations

import ipaddress

import idna

_ACE_PREFIX = "xn--"


class HostNameError(ValueError):
    """A name that cannot be a host name; the message says why."""


def ascii_host(name: str) -> str:
    """The name as it is stored and matched: lower-case ASCII, international labels in their
    `xn--` form, no trailing dot. An IP address stays as it is."""
    name = name.strip().rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not name:
        raise HostNameError("empty")
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise HostNameError(str(error) or type(error).__name__) from None


def matching_host(name: str) -> str | None:
    """The stored form of a name from a request (URL, Host header), or None if it cannot be
    a host name at all. ASCII needs only lower-casing, so only international names pay for
    the IDNA conversion."""
    if name.isascii():
        return name.lower().rstrip(".")
    try:
        return ascii_host(name)
    except HostNameError:
        return None


def unicode_host(name: str) -> str:
    """A stored name as people read it: `xn--caf-dma.example` is `café.example`."""
    if _ACE_PREFIX not in name:
        return name
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name
