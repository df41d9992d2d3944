"""HTTP/1.1 response heads as bytes, without I/O: the status line and header fields, checked,
and the Date field made once a second."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Sequence
from email.utils import formatdate
from http import HTTPStatus

_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Controls that would end a field or the head early (a field value may hold tabs)."""
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class UnsafeHeader(Exception):
    """A header field that cannot be sent as it is: it would split the response."""


def head_bytes(
    status: int,
    date: bytes,
    fields: tuple[tuple[str, str], ...],
    extra: Iterable[tuple[str, str]] = (),
) -> bytes:
    """The status line, the `date` lines (`DateField.lines`), `fields` and `extra` of a response,
    ending with the blank line. The lines of `fields` are made once for the responses that
    repeat them (a kept page's headers), those of `extra` each time."""
    return b"".join(
        [_status_line(status), date, _field_lines(fields), *map(_field_line, extra), b"\r\n"]
    )


@functools.lru_cache(maxsize=1024)
def _field_lines(fields: tuple[tuple[str, str], ...]) -> bytes:
    return b"".join(map(_field_line, fields))


@functools.lru_cache(maxsize=64)
def _status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode("ascii")


@functools.lru_cache(maxsize=4096)
def _field_line(field: tuple[str, str]) -> bytes:
    """One header line; made once for the fields every response repeats."""
    name, value = field
    if _TOKEN.fullmatch(name) is None or _UNSAFE.search(value) is not None:
        raise UnsafeHeader(f"refusing to send header {name!r}: {value!r}")
    return f"{name}: {value}\r\n".encode("ascii")


def keeps_alive(version: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether an HTTP/`version` client sending `headers` (names lower-case) lets the
    connection carry another request after this one."""
    if version != b"1.1":
        return False
    for name, value in headers:
        if name == b"connection" and any(
            token.strip() == b"close" for token in value.lower().split(b",")
        ):
            return False
    return True


class DateField:
    """The Date header line, and the `following` lines every response sends after it, made
    once per second."""

    def __init__(self, following: Iterable[tuple[str, str]] = ()) -> None:
        self._following = b"".join(map(_field_line, following))
        self._second = -1
        self._lines = b""

    def lines(self) -> bytes:
        """`Date: <now as an HTTP date>` and the following lines, with their line ends."""
        second = int(time.time())
        if second != self._second:
            date = formatdate(second, usegmt=True).encode("ascii")
            self._second, self._lines = second, b"Date: " + date + b"\r\n" + self._following
        return self._lines
