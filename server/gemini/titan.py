"""Titan uploads without I/O: the request line, the body's framing, and every answer's header.

A Titan request is `titan://host[:port]/path;size=N[;mime=TYPE][;token=T]` and CRLF, followed
by exactly N bytes. The parameters follow the path, separated by semicolons, in any order;
their values are percent-decoded. `size` is required, `mime` defaults to text/gemini.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from capsule.paths import gemini_url, join_within_root
from capsule.resources import AccessRefusal, CertificateNotAuthorised, CertificateRequired
from server.gemini.protocol import (
    BAD_REQUEST,
    REDIRECT_TEMPORARY,
    SLOW_DOWN,
    SUCCESS,
    TEMPORARY_FAILURE,
    ResponseHeader,
    bad_request,
    our_host,
    response_header,
    split_request_line,
)

SCHEME = "titan"
DEFAULT_MIME = "text/gemini"
INDEX_NAME = "index.gmi"
PERMANENT_FAILURE = 50
NOT_FOUND = 51

_MAX_SIZE_DIGITS = 18  # under 2**63: no overflow anywhere downstream
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MIME = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"[^\"\\]*\"))*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PARAMETERS = frozenset({"size", "mime", "token"})


@dataclass(frozen=True, slots=True)
class TitanRequest:
    """A valid Titan upload for one of our hosts: where, how many bytes, of which type."""

    host: str
    port: int | None
    path: str
    """The decoded, normalised path written, as a Gemini request for it would carry it."""
    size: int
    mime: str = DEFAULT_MIME
    token: str | None = None

    @property
    def file_path(self) -> str:
        """The path of the file written: a directory's (path ending in "/") is its index page."""
        return self.path + INDEX_NAME if self.path.endswith("/") else self.path

    @property
    def gemini_url(self) -> str:
        """The Gemini URL of what was written, on the host and port the upload was sent to."""
        return gemini_url(self.host, self.port, quote(self.path))


def is_titan(line: bytes) -> bool:
    """Whether a request line asks for a titan:// URL (scheme case aside)."""
    return line[: len(SCHEME) + 1].lower() == SCHEME.encode() + b":"


def parse_titan_request(
    line: bytes, hosts: frozenset[str], ports: frozenset[int]
) -> TitanRequest | ResponseHeader:
    """Validate a Titan request line (without CRLF) for our host names and ports."""
    split = split_request_line(line)
    if isinstance(split, ResponseHeader):
        return split
    url, parts = split
    port = parts.port
    if parts.scheme.lower() != SCHEME:
        return bad_request("Not a titan:// URL")
    if "#" in url:
        return bad_request("URL must not contain a fragment")
    if "?" in url:
        return bad_request("A titan URL has no query: parameters follow the path after ';'")
    host = our_host(parts, hosts, ports)
    if isinstance(host, ResponseHeader):
        return host
    if _BAD_ESCAPE.search(url):
        return bad_request("URL has invalid percent-encoding")
    raw_path, _, raw_parameters = parts.path.partition(";")
    path = _decoded(raw_path)
    if path is None or not path.startswith("/"):
        return bad_request("A titan URL needs a path, e.g. titan://host/page.gmi;size=10")
    if "\x00" in path:
        return bad_request("URL path contains NUL")
    normalised = join_within_root("/", path)
    if normalised is None:
        return bad_request("The path climbs above the root")
    parameters = _parameters(raw_parameters)
    if isinstance(parameters, ResponseHeader):
        return parameters
    size_text = parameters.get("size")
    if size_text is None:
        return bad_request("The size parameter is required, e.g. ;size=10")
    if not size_text.isascii() or not size_text.isdigit() or len(size_text) > _MAX_SIZE_DIGITS:
        return bad_request(f"size={size_text} is not a number of bytes")
    mime = parameters.get("mime", DEFAULT_MIME)
    if not _MIME.fullmatch(mime):
        return bad_request(f"mime={mime} is not a MIME type")
    return TitanRequest(host, port, normalised, int(size_text), mime, parameters.get("token"))


def _parameters(text: str) -> dict[str, str] | ResponseHeader:
    """The `key=value` pairs after the path, values decoded; each key at most once."""
    found: dict[str, str] = {}
    for item in text.split(";") if text else []:
        key, equals, raw = item.partition("=")
        key = key.lower()
        if not equals or key not in _PARAMETERS:
            return bad_request(f"Unknown Titan parameter {item!r}: size, mime and token are known")
        if key in found:
            return bad_request(f"The {key} parameter is given twice")
        value = _decoded(raw)
        if value is None:
            return bad_request(f"The {key} parameter is not valid UTF-8")
        found[key] = value
    return found


def _decoded(component: str) -> str | None:
    try:
        return unquote_to_bytes(component).decode("utf-8")
    except UnicodeDecodeError:
        return None


class BodyReader:
    """Counts the bytes of an upload's body against its size, however they arrive."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.received = 0
        self.ended = False
        """Whether the client has stopped sending (or is no longer waited for)."""

    def feed(self, data: bytes) -> bytes | ResponseHeader:
        """The bytes of `data`, all of the body, or a 59 if they run past its size."""
        if len(data) > self.size - self.received:
            return longer_than_size(self.size)
        self.received += len(data)
        return data

    @property
    def complete(self) -> bool:
        """Whether every byte of the body has arrived."""
        return self.received == self.size

    @property
    def expecting(self) -> bool:
        """Whether the client may still be sending its body (when an answer goes out early)."""
        return not self.complete and not self.ended

    def eof(self) -> ResponseHeader:
        """The answer for a client that stopped sending before the end of its body."""
        self.ended = True
        return bad_request(f"Upload ended after {self.received} of its {self.size} bytes")

    def late(self, seconds: float) -> ResponseHeader:
        """The answer for a body that did not arrive within the upload deadline."""
        self.ended = True
        return bad_request(f"Upload not complete within {seconds:g} seconds")


# ---- answers ------------------------------------------------------------------------------


def written(request: TitanRequest) -> ResponseHeader:
    """A 30 to the Gemini URL of the file just written."""
    return ResponseHeader(REDIRECT_TEMPORARY, request.gemini_url)


def deleted(request: TitanRequest) -> tuple[ResponseHeader, bytes]:
    """A 20 with a short page saying the file is gone (a redirect would only lead to a 51)."""
    page = f"# Deleted\n\n{request.path} was deleted; its last version is kept.\n"
    return ResponseHeader(SUCCESS, "text/gemini; charset=utf-8"), page.encode("utf-8")


def refused(refusal: AccessRefusal) -> ResponseHeader:
    """60, 61 or 62 for an upload, as for a protected path."""
    if isinstance(refusal, CertificateRequired):
        refusal = CertificateRequired("A client certificate is needed to upload here")
    elif isinstance(refusal, CertificateNotAuthorised):
        refusal = CertificateNotAuthorised("This client certificate may not upload here")
    return response_header(refusal)


def closed() -> ResponseHeader:
    """No upload rule opens the path."""
    return ResponseHeader(PERMANENT_FAILURE, "Uploads are not accepted at this path")


def too_large(size: int, max_bytes: int) -> ResponseHeader:
    """The size is over the rule's limit; said before any byte of the body is read."""
    return ResponseHeader(
        PERMANENT_FAILURE, f"Upload of {size} bytes refused: at most {max_bytes} bytes here"
    )


def deletion_refused() -> ResponseHeader:
    """A size of 0 where the rule does not allow deleting."""
    return ResponseHeader(PERMANENT_FAILURE, "Deleting (size=0) is not allowed here")


def nothing_to_delete() -> ResponseHeader:
    """A deletion of a file that does not exist."""
    return ResponseHeader(NOT_FOUND, "Nothing to delete")


def unwritable(reason: str) -> ResponseHeader:
    """The path cannot be written under the rules of serving (a dotfile, a directory...)."""
    return ResponseHeader(PERMANENT_FAILURE, f"Cannot write there: {reason}")


def longer_than_size(size: int) -> ResponseHeader:
    """More bytes arrived than the size announced."""
    return ResponseHeader(BAD_REQUEST, f"Upload longer than its size of {size} bytes")


def write_failed() -> ResponseHeader:
    """The file could not be written on our side."""
    return ResponseHeader(TEMPORARY_FAILURE, "The upload could not be stored")


def outcome(status: int | None) -> str:
    """What an upload answered `status` came to, in one word: written, deleted, refused (by a
    rule, a limit or a malformed request), failed (on our side) or broken (no answer)."""
    if status is None:
        return "broken"
    if status == REDIRECT_TEMPORARY:
        return "written"
    if status == SUCCESS:
        return "deleted"
    if status // 10 == TEMPORARY_FAILURE // 10 and status != SLOW_DOWN:
        return "failed"
    return "refused"
