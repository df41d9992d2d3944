"""security.txt (RFC 9116): what is missing or stale in a capsule's /.well-known/security.txt."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

SECURITY_TXT_PATH = "/.well-known/security.txt"

_SIGNED = "-----BEGIN PGP SIGNED MESSAGE-----"
_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_EXAMPLE_EXPIRES = "2030-12-31T23:59:59Z"
_EXAMPLE_CONTACT = "mailto:security@example.org"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a reader of the file would miss, on `line` (from 1) if one line is to blame."""

    line: int | None
    message: str


def security_txt_findings(text: str, now: datetime) -> list[Finding]:
    """What is wrong with a security.txt at `now` (aware): a missing or non-URI `Contact`, and
    an `Expires` that is missing, repeated, malformed or past. A signed file is read inside
    its OpenPGP signature."""
    findings: list[Finding] = []
    contacts = 0
    expires: int | None = None
    for number, name, value in _fields(text):
        if name == "contact":
            contacts += 1
            if (problem := _contact_problem(value)) is not None:
                findings.append(Finding(number, problem))
        elif name == "expires":
            if expires is not None:
                findings.append(Finding(number, f"Expires appears again (first on line {expires})"))
                continue
            expires = number
            if (problem := _expiry_problem(value, now)) is not None:
                findings.append(Finding(number, problem))
    if not contacts:
        findings.append(Finding(None, f"no Contact field, e.g. Contact: {_EXAMPLE_CONTACT}"))
    if expires is None:
        findings.append(Finding(None, f"no Expires field, e.g. Expires: {_EXAMPLE_EXPIRES}"))
    return sorted(findings, key=lambda finding: finding.line or 0)


def _fields(text: str) -> list[tuple[int, str, str]]:
    """(line number, lower-case name, value) of each field line."""
    lines = text.splitlines()
    signed = bool(lines) and lines[0].strip() == _SIGNED
    # A signed file: armor headers up to the first blank line, then the text, dash-escaped.
    in_headers = signed
    fields = []
    for number, line in enumerate(lines[1:] if signed else lines, start=2 if signed else 1):
        if in_headers:
            in_headers = bool(line.strip())
            continue
        if signed and line.strip() == _SIGNATURE:
            break
        if signed and line.startswith("- "):
            line = line[2:]
        name, colon, value = line.partition(":")
        if colon and not line.lstrip().startswith("#"):
            fields.append((number, name.strip().lower(), value.strip()))
    return fields


def _contact_problem(value: str) -> str | None:
    scheme = urlsplit(value).scheme.lower() if ":" in value else ""
    if not scheme:
        return f"Contact {value!r} is not a URI such as mailto:, https: or tel:"
    if scheme == "http":
        return f"Contact {value!r} must be an https: URL, not http:"
    return None


def _expiry_problem(value: str, now: datetime) -> str | None:
    if not _RFC3339.match(value):
        return f"Expires {value!r} is not a date and time such as {_EXAMPLE_EXPIRES}"
    try:
        expires = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return f"Expires {value!r} is not a valid date"
    if expires <= now:
        return f"Expires {value} has passed: readers ignore an expired security.txt"
    return None
