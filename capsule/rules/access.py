"""Client certificates as identities, and which of them a protected path admits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import translate
from typing import NewType

from capsule.resources import (
    AccessRefusal,
    CertificateNotAuthorised,
    CertificateNotValid,
    CertificateRequired,
)
from capsule.tree import INDEX_NAME

Fingerprint = NewType("Fingerprint", str)
"""A certificate's SHA-256 fingerprint as 64 lowercase hex digits, as `parse_fingerprint`
returns it; a setting of this type is read with that function."""

FINGERPRINT_PREFIX = "sha256:"
ANY_CERTIFICATE_WORD = "any"
"""How a configuration or a `.meta` line says "any client certificate"."""

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_HEX_DIGITS = frozenset("0123456789abcdef")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9-]*):")


def parse_fingerprint(text: str) -> str:
    """The 64 lowercase hex digits of a SHA-256 fingerprint written `sha256:<hex>`, as bare
    hex, in upper case or as colon-separated pairs (`AB:CD:…`); ValueError says what is wrong."""
    digits = text.strip()
    scheme = _SCHEME.match(digits)
    if scheme is not None and digits[: len(FINGERPRINT_PREFIX)].lower() == FINGERPRINT_PREFIX:
        digits = digits[len(FINGERPRINT_PREFIX) :]
    elif scheme is not None and not set(scheme.group(1).lower()) <= _HEX_DIGITS:
        raise ValueError(f"only SHA-256 fingerprints are accepted, not {scheme.group(1)}")
    if ":" in digits:
        pairs = digits.split(":")
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("colons must separate pairs of hex digits")
        digits = "".join(pairs)
    digits = digits.lower()
    if bad := sorted(set(digits) - _HEX_DIGITS):
        raise ValueError(f"{bad[0]!r} is not a hex digit")
    if len(digits) != 64:
        raise ValueError(f"{len(digits)} hex digits where a SHA-256 fingerprint has 64")
    return digits


def shown_fingerprint(fingerprint: str) -> str:
    """How a fingerprint is displayed and logged: `sha256:<lowercase hex>`."""
    return FINGERPRINT_PREFIX + fingerprint


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """The client certificate a request came with: its SHA-256 fingerprint (of the whole DER
    certificate, 64 lowercase hex digits) and its validity dates (aware datetimes)."""

    fingerprint: str
    not_before: datetime
    not_after: datetime

    def __post_init__(self) -> None:
        if not _FINGERPRINT.fullmatch(self.fingerprint):
            raise ValueError(f"{self.fingerprint!r} is not 64 lowercase hex digits")
        if self.not_before.tzinfo is None or self.not_after.tzinfo is None:
            raise ValueError("validity dates must carry a time zone")

    def valid_at(self, moment: datetime) -> bool:
        """Whether `moment` lies within the certificate's validity dates, both included."""
        return self.not_before <= moment <= self.not_after

    def __str__(self) -> str:
        return shown_fingerprint(self.fingerprint)


@dataclass(frozen=True, slots=True)
class Protection:
    """Which client certificates a protected path admits: any, or only those listed."""

    fingerprints: frozenset[str] | None = None
    """None admits any certificate; otherwise the fingerprints (64 lowercase hex) admitted."""

    @property
    def any_certificate(self) -> bool:
        """Whether every client certificate is admitted."""
        return self.fingerprints is None

    def admits(self, identity: ClientIdentity) -> bool:
        """Whether this certificate may see the path (validity dates aside)."""
        return self.fingerprints is None or identity.fingerprint in self.fingerprints

    def narrowed(self, other: Protection) -> Protection:
        """What both admit: where several rules protect a path, each must admit a certificate."""
        if self.fingerprints is None:
            return other
        if other.fingerprints is None:
            return self
        return Protection(self.fingerprints & other.fingerprints)

    def __str__(self) -> str:
        if self.fingerprints is None:
            return "any client certificate"
        if not self.fingerprints:
            return "no client certificate"
        return ", ".join(shown_fingerprint(each) for each in sorted(self.fingerprints))


ANY_CERTIFICATE = Protection()
NO_CERTIFICATE = Protection(frozenset())
"""What a protection admits when its list could not be read: nobody, rather than everybody."""


def parse_protection(value: str | Iterable[str]) -> Protection:
    """`any`, or fingerprints: a list, or one string of them separated by commas."""
    items = value.split(",") if isinstance(value, str) else list(value)
    if [item.strip() for item in items] == [ANY_CERTIFICATE_WORD]:
        return ANY_CERTIFICATE
    fingerprints = set()
    for item in items:
        if item.strip() == ANY_CERTIFICATE_WORD:
            raise ValueError(f"{ANY_CERTIFICATE_WORD!r} admits every certificate; list no "
                             "fingerprints with it")
        try:
            fingerprints.add(parse_fingerprint(item))
        except ValueError as error:
            raise ValueError(f"{item.strip()!r} is not a fingerprint: {error}") from None
    if not fingerprints:
        raise ValueError(f"no fingerprints (or {ANY_CERTIFICATE_WORD!r} for any certificate)")
    return Protection(frozenset(fingerprints))


def refusal(
    protection: Protection, identity: ClientIdentity | None, moment: datetime
) -> AccessRefusal | None:
    """Why a request with `identity` at `moment` may not see a path under `protection`, if so."""
    if identity is None:
        return CertificateRequired()
    if moment < identity.not_before:
        since = f"{identity.not_before.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        return CertificateNotValid(f"This client certificate is not valid before {since}")
    if moment > identity.not_after:
        until = f"{identity.not_after.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        return CertificateNotValid(f"This client certificate expired on {until}")
    if not protection.admits(identity):
        return CertificateNotAuthorised()
    return None


@dataclass(frozen=True, slots=True)
class ProtectRule:
    """Paths matching `pattern` (a shell glob relative to a directory, "" naming that
    directory) are protected, and so is everything below a directory it matches."""

    pattern: str
    protection: Protection


_Match = tuple[Callable[[str], object], Protection]
"""A rule's compiled pattern, and what the rule admits."""


@dataclass(frozen=True, slots=True)
class ProtectRules:
    """The protect rules of one place (a `.meta` file, or the configuration for a root)."""

    rules: tuple[ProtectRule, ...] = ()
    _matches: tuple[_Match, ...] = field(init=False, repr=False, compare=False)
    _file_matches: tuple[_Match, ...] = field(init=False, repr=False, compare=False)
    """Those of rules that can match a file's name: a pattern ending in "/" names directories."""

    def __post_init__(self) -> None:
        matches = tuple(
            (re.compile(translate(rule.pattern)).match, rule.protection) for rule in self.rules
        )
        object.__setattr__(self, "_matches", matches)
        files = tuple(
            match for match, rule in zip(matches, self.rules, strict=True)
            if rule.pattern and not rule.pattern.endswith("/")
        )
        object.__setattr__(self, "_file_matches", files)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def protection(self, relative: str, is_directory: bool) -> Protection | None:
        """What protects `relative` (a path relative to the place; a directory's ends in "/",
        the place itself is ""): rules matching it or a directory above it."""
        if not self.rules:
            return None
        if is_directory:
            # A directory is served by its index page: rules naming that page protect it too.
            folder, page = relative, relative + INDEX_NAME
        else:
            folder, page = relative[: relative.rfind("/") + 1], relative
        return narrowest(self.folder_protection(folder), self.matching(page))

    def folder_protection(self, folder: str) -> Protection | None:
        """What protects everything in `folder` ("" for the place itself, else ending in "/"):
        rules matching it, or a directory above it, with or without its trailing slash."""
        found = self.matching("")
        start = 0
        while (slash := folder.find("/", start)) != -1:
            for name in (folder[:slash], folder[: slash + 1]):
                found = narrowest(found, self.matching(name))
            start = slash + 1
        return found

    def matching(self, name: str) -> Protection | None:
        """What the rules matching `name` itself (not a directory above it) admit."""
        found = None
        is_file = name and not name.endswith("/")
        for match, protection in self._file_matches if is_file else self._matches:
            if match(name):
                found = narrowest(found, protection)
        return found


NO_RULES = ProtectRules()


def narrowest(*protections: Protection | None) -> Protection | None:
    """What every one of `protections` admits; None if none protects anything."""
    found = None
    for protection in protections:
        if protection is not None:
            found = protection if found is None else found.narrowed(protection)
    return found
