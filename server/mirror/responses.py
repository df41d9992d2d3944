"""The mirror's HTTP semantics without sockets: resources to responses, statuses, caching."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import parse_qs, unquote

from capsule.mime import GEMTEXT
from capsule.publication.atom import render_atom
from capsule.publication.robots import ROBOTS_MIME
from capsule.resources import (
    CertificateNotAuthorised,
    CertificateNotValid,
    CertificateRequired,
    Feed,
    File,
    Gone,
    InputPrompt,
    NotFound,
    Page,
    Redirect,
    Resource,
    Robots,
    Unavailable,
)
from capsule.root import Capsule
from server.hostnames import unicode_host
from server.mirror.change_watch import ChangeWatch
from server.mirror.crawlers import Sitemaps, web_robots_txt
from server.mirror.encoding import choose, compress, compressible
from server.mirror.favicon import FAVICON_PATH, favicon_emoji
from server.mirror.images import image_sizes
from server.mirror.links import INPUT_FIELD, MirrorTarget, capsule_target, mirror_path, rewrite_link
from server.mirror.pages import STYLESHEET_PATH, PageContext, PageRenderer
from server.mirror.response_cache import Entry, ResponseCache, Validity, validity
from server.mirror.sitemap import SITEMAP_MIME, is_sitemap_path

REASONS = {
    HTTPStatus.BAD_REQUEST: "Bad request",
    HTTPStatus.NOT_FOUND: "Not found",
    HTTPStatus.METHOD_NOT_ALLOWED: "Method not allowed",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "Request body too large",
    HTTPStatus.MISDIRECTED_REQUEST: "This server does not serve that host",
    HTTPStatus.TOO_MANY_REQUESTS: "Too many requests",
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: "Request headers too large",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Internal error",
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: "Only HTTP/1.0 and HTTP/1.1 are spoken here",
}

HTML = "text/html; charset=utf-8"
GEMTEXT_SOURCE = "text/plain; charset=utf-8"
"""Raw gemtext is labelled as plain text so that browsers display it instead of saving it."""
CSS = "text/css; charset=utf-8"
SVG = "image/svg+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
ALLOWED_METHODS = "GET, HEAD"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
CACHE_PAGE = "public, max-age=60"
CACHE_FILE = "public, max-age=300"
CACHE_PERMANENT_REDIRECT = "public, max-age=3600"
CACHE_NONE = "no-store"
MAX_KEPT_FILE = 256 * 1024
"""Files up to this size are kept in memory with the pages; larger ones are always streamed."""

Headers = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class Request:
    """A GET or HEAD for one of our hosts; `path` is decoded and free of dot segments.

    Not frozen, though nothing changes one: it is made for every request, and a frozen
    dataclass takes about five times as long to make."""

    method: str
    host: str
    path: str
    query: str | None = None
    """The query string as sent, still percent-encoded."""
    origin: str | None = None
    """`http://HOST[:PORT]` as the client addressed us, for absolute URLs without a base URL."""
    if_none_match: str | None = None
    if_modified_since: str | None = None
    accept_encoding: str | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """Status, headers and body of one answer; a File body is streamed from disk."""

    status: int
    headers: Headers
    body: bytes | File = b""


class Mirror:
    """Answers mirror requests from the capsules, one per host name."""

    def __init__(
        self,
        capsules: Mapping[str, Capsule],
        renderer: PageRenderer,
        gemini_port: int | None = None,
        change_reports: bool = True,
    ) -> None:
        self.capsules = dict(capsules)
        self.renderer = renderer
        self.gemini_port = gemini_port
        self._stylesheet = _entity(
            HTTPStatus.OK, CSS, renderer.stylesheet().encode("utf-8"), CACHE_PAGE
        )
        """The same for every page and host: made once, answered on the event loop."""
        self.sitemaps = Sitemaps()
        self.responses = ResponseCache(renderer.cache.max_bytes)
        """Whole 200 responses of pages, answered again while what they depend on holds."""
        self.change_watch = ChangeWatch.open() if change_reports else None
        """The kernel's reports of changed directories, where it gives them (else `stat`)."""

    def cached(self, request: Request) -> Response | None:
        """The response to `request` from a kept one, if that still holds (a few stat calls,
        fit for the event loop); None to resolve it."""
        if request.query is not None:
            return None
        if request.path == STYLESHEET_PATH:
            return self._final(self._stylesheet, request)
        entry = self.responses.get(_cache_key(request))
        if entry is None or not entry.validity.holds(self.capsules[request.host], entry.path):
            return None
        return _conditional(entry.response, request)

    def respond(self, request: Request) -> Response:
        """The response to a valid request (this reads the capsule from disk)."""
        response = self._respond(request, at_once=False)
        assert response is not None, "only responding at once stops short"
        return response

    def respond_at_once(self, request: Request) -> Response | None:
        """As `respond`, if that takes bounded work; None if it needs work that grows with the
        capsule (a listing, the archive, feeds, search, a sitemap), for `respond` under a limit."""
        return self._respond(request, at_once=True)

    def _respond(self, request: Request, *, at_once: bool) -> Response | None:
        if request.path == STYLESHEET_PATH:
            return self._final(self._stylesheet, request)
        capsule = self.capsules[request.host]
        resolve = capsule.resolve_at_once if at_once else capsule.resolve
        target = capsule_target(request.path)
        query = capsule_query(request.query)
        # Taken before the page is read: a change while it is made is a miss next time.
        kept = (
            validity(capsule, target.path, watch=self.change_watch)
            if at_once and query is None
            else None
        )
        resource = resolve(target.path, query)
        if resource is None:
            return None
        if kept is not None and isinstance(resource, Page):
            return self._kept(resource, target, request, kept)
        if kept is not None and isinstance(resource, File) and resource.size <= MAX_KEPT_FILE:
            kept_file = self._kept_file(resource, target, request, kept)
            if kept_file is not None:
                return kept_file
        if isinstance(resource, NotFound) and target.path != request.path:
            # A capsule file that merely looks like a page URL, with no page claiming it.
            literal = resolve(request.path, query)
            if literal is None:
                return None
            if isinstance(literal, File | CertificateRequired):
                resource, target = literal, MirrorTarget(request.path, raw=True)
        elif isinstance(resource, NotFound) and target.raw and target.path.endswith("/index.gmi"):
            # The source of a generated directory page (no index.gmi on disk).
            source = resolve(target.path.removesuffix("index.gmi"), query)
            if source is None:
                return None
            resource = source
        elif isinstance(resource, NotFound) and request.path == FAVICON_PATH:
            # The icon drawn from favicon.txt, where the capsule has no favicon.svg of its own.
            emoji = favicon_emoji(capsule)
            if emoji is not None:
                svg = self.renderer.favicon(emoji).encode("utf-8")
                return self._final(_entity(HTTPStatus.OK, SVG, svg, CACHE_PAGE), request)
        origin = self.renderer.base_url or request.origin
        if isinstance(resource, NotFound) and is_sitemap_path(request.path):
            if at_once:
                return None
            sitemap = self.sitemaps.file(capsule, request.path, origin or "")
            if sitemap is not None:
                return self._final(_entity(HTTPStatus.OK, SITEMAP_MIME, sitemap, CACHE_PAGE),
                                    request)
        return self._final(self.response_for(resource, target, request.host, origin), request)

    def _kept(
        self, page: Page, target: MirrorTarget, request: Request, kept: Validity
    ) -> Response:
        """The response for a page readers may see, kept for the next request like it."""
        origin = self.renderer.base_url or request.origin
        made = self.response_for(page, target, request.host, origin)
        encoded = self._encoded(made, request.accept_encoding)
        if encoded.status == HTTPStatus.OK:
            self.responses.put(_cache_key(request), Entry(target.path, kept, encoded))
        return _conditional(encoded, request)

    def _kept_file(
        self, file: File, target: MirrorTarget, request: Request, kept: Validity
    ) -> Response | None:
        """The response for a small file (an image, say), read whole and kept like a page;
        None if it changed while it was read (then it is streamed as usual)."""
        try:
            with file.path.open("rb") as opened:
                data = opened.read(file.size + 1)
        except OSError:
            return None
        if len(data) != file.size:
            return None
        made = self.response_for(file, target, request.host)
        # As it is, as a streamed file would be: the static export has no .gz sibling of it.
        whole = Response(made.status, made.headers, data)
        if whole.status == HTTPStatus.OK:
            self.responses.put(_cache_key(request), Entry(target.path, kept, whole))
        return _conditional(whole, request)

    def response_for(
        self, resource: Resource, target: MirrorTarget, host: str, origin: str | None = None
    ) -> Response:
        """How the mirror renders `resource`: the one place its status and headers are chosen."""
        match resource:
            case Page(gemtext=text) if target.raw:
                return _entity(HTTPStatus.OK, GEMTEXT_SOURCE, text.encode("utf-8"), CACHE_PAGE)
            case Page(gemtext=text, lang=lang, modified=modified, article=place):
                context = self._context(target.path, host)
                images = image_sizes(self.capsules[host])
                html = self.renderer.page(text, lang, context, modified, place, images)
                return _entity(HTTPStatus.OK, HTML, html.encode("utf-8"), CACHE_PAGE)
            case File(mime=mime) if mime.partition(";")[0].strip() == GEMTEXT:
                # A page too large to render: its source, streamed as it is.
                return _file(resource, GEMTEXT_SOURCE)
            case File():
                return _file(resource, resource.mime)
            case Redirect(target=location, permanent=permanent):
                status = HTTPStatus.MOVED_PERMANENTLY if permanent else HTTPStatus.FOUND
                cache = CACHE_PERMANENT_REDIRECT if permanent else CACHE_NONE
                href = rewrite_link(location, target.path, self._own_hosts(host))
                return Response(status, _headers(("Location", href), ("Content-Length", "0"),
                                                 ("Cache-Control", cache)))
            case InputPrompt(prompt=prompt, sensitive=sensitive):
                context = self._context(target.path, host)
                html = self.renderer.input_form(prompt, sensitive, None, context)
                return _entity(HTTPStatus.OK, HTML, html.encode("utf-8"), CACHE_NONE)
            case NotFound(reason=reason):
                context = self._context(target.path, host)
                html = self.renderer.error(HTTPStatus.NOT_FOUND, reason, context)
                return _entity(HTTPStatus.NOT_FOUND, HTML, html.encode("utf-8"), CACHE_PAGE)
            case Gone(reason=reason):
                context = self._context(target.path, host)
                html = self.renderer.error(HTTPStatus.GONE, reason, context)
                return _entity(HTTPStatus.GONE, HTML, html.encode("utf-8"), CACHE_PAGE)
            case Unavailable(reason=reason):
                context = self._context(target.path, host)
                html = self.renderer.error(HTTPStatus.SERVICE_UNAVAILABLE, reason, context)
                unavailable = HTTPStatus.SERVICE_UNAVAILABLE
                return _entity(unavailable, HTML, html.encode("utf-8"), CACHE_NONE)
            case Feed():
                atom = render_atom(resource, origin or "", mirror_path)
                return _entity(HTTPStatus.OK, ATOM, atom, CACHE_PAGE)
            case Robots():
                sitemap = self.sitemaps.url(self.capsules[host], origin)
                robots = web_robots_txt(resource, sitemap)
                return _entity(HTTPStatus.OK, ROBOTS_MIME, robots, CACHE_PAGE)
            case CertificateRequired() | CertificateNotValid() | CertificateNotAuthorised():
                # The mirror has no client certificates: over HTTP a protected page is forbidden.
                context = self._context(target.path, host)
                html = self.renderer.protected(context)
                return _entity(HTTPStatus.FORBIDDEN, HTML, html.encode("utf-8"), CACHE_PAGE)

    def _final(self, response: Response, request: Request) -> Response:
        """The response as sent: in the coding the client accepts, then 304 if its copy is
        current."""
        return _conditional(self._encoded(response, request.accept_encoding), request)

    def _encoded(self, response: Response, accept_encoding: str | None) -> Response:
        """A text body compressed in the best coding the client accepts, with an ETag of its
        own; the compressed bytes are made once and kept in the page cache."""
        body = response.body
        if response.status != HTTPStatus.OK or not isinstance(body, bytes):
            return response
        fields = dict(response.headers)
        if not compressible(fields["Content-Type"], len(body)):
            return response
        vary = ("Vary", "Accept-Encoding")
        coding = choose(accept_encoding)
        if coding is None:
            return Response(response.status, (*response.headers, vary), body)
        etag = fields["ETag"]
        encoded = self.renderer.cache.get_or_render(
            ("encoded", coding, etag), b"", lambda: compress(body, coding)
        )
        changed = {
            "Content-Length": str(len(encoded)),
            "ETag": f'{etag[:-1]}-{coding}"',
        }
        headers = tuple((name, changed.get(name, value)) for name, value in response.headers)
        return Response(response.status, (*headers, ("Content-Encoding", coding), vary), encoded)

    def refusal(self, status: HTTPStatus, extra: Headers = ()) -> Response:
        """An error page for a request the mirror will not serve (400, 405, 421, 429...)."""
        html = self.renderer.error(status, REASONS[status], None)
        response = _entity(status, HTML, html.encode("utf-8"), CACHE_NONE)
        return Response(status, response.headers + extra, response.body)

    def _context(self, path: str, host: str) -> PageContext:
        """Where a page lives and what its head announces (this reads the capsule)."""
        capsule = self.capsules[host]
        publication = capsule.publication
        site_name = publication.title if publication is not None else unicode_host(host)
        # Port 0 asked the system for any port: which one it gave is not known here.
        return PageContext(
            path,
            host,
            self._own_hosts(host),
            self.gemini_port or None,
            site_name,
            favicon=favicon_emoji(capsule) is not None,
        )

    def _own_hosts(self, host: str) -> frozenset[str]:
        """Every name serving the same capsule as `host`."""
        capsule = self.capsules[host]
        return frozenset(name for name, other in self.capsules.items() if other is capsule)


def _cache_key(request: Request) -> tuple[str, str, str | None, str | None]:
    """What a kept response is found by: everything that shapes it but the files it was made
    from (host, path, content coding, and the origin absolute URLs are made with)."""
    return (request.host, request.path, choose(request.accept_encoding), request.origin)


def capsule_query(query: str | None) -> str | None:
    """The capsule's query for a mirror query string: the `q` field of our input form, or
    else the whole string decoded (as Gemini sends it)."""
    if query is None:
        return None
    fields = parse_qs(query, keep_blank_values=True)
    if INPUT_FIELD in fields:
        return fields[INPUT_FIELD][0]
    return unquote(query)


def bad_request(mirror: Mirror) -> Response:
    """400: the request could not be read."""
    return mirror.refusal(HTTPStatus.BAD_REQUEST)


def headers_too_large(mirror: Mirror) -> Response:
    """431: the request head exceeded the size limit."""
    return mirror.refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)


def content_too_large(mirror: Mirror) -> Response:
    """413: a GET or HEAD came with a body beyond the limit."""
    return mirror.refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)


def method_not_allowed(mirror: Mirror) -> Response:
    """405: only GET and HEAD exist here."""
    return mirror.refusal(HTTPStatus.METHOD_NOT_ALLOWED, (("Allow", ALLOWED_METHODS),))


def version_not_supported(mirror: Mirror) -> Response:
    """505: an HTTP version other than 1.0 and 1.1."""
    return mirror.refusal(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)


def misdirected(mirror: Mirror) -> Response:
    """421: the Host is not one of ours."""
    return mirror.refusal(HTTPStatus.MISDIRECTED_REQUEST)


def too_many_requests(mirror: Mirror, retry_after: float) -> Response:
    """429 with the whole seconds to wait."""
    seconds = str(max(1, math.ceil(retry_after)))
    return mirror.refusal(HTTPStatus.TOO_MANY_REQUESTS, (("Retry-After", seconds),))


def internal_error(mirror: Mirror) -> Response:
    """500: resolving or rendering failed on our side."""
    return mirror.refusal(HTTPStatus.INTERNAL_SERVER_ERROR)


def _entity(status: int, content_type: str, body: bytes, cache: str) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
               ("Cache-Control", cache)]
    if status == HTTPStatus.OK:
        headers.append(("ETag", etag))
    return Response(status, _headers(*headers), body)


def _file(file: File, content_type: str) -> Response:
    etag = f'"{file.size:x}-{int(file.mtime * 1_000_000):x}"'
    return Response(
        HTTPStatus.OK,
        _headers(
            ("Content-Type", content_type),
            ("Content-Length", str(file.size)),
            ("Cache-Control", CACHE_FILE),
            ("ETag", etag),
            ("Last-Modified", formatdate(file.mtime, usegmt=True)),
        ),
        file,
    )


def _headers(*headers: tuple[str, str]) -> Headers:
    return headers + SECURITY_HEADERS


def _conditional(response: Response, request: Request) -> Response:
    """Turn a 200 into a 304 when the client's cached copy is still current."""
    if request.if_none_match is None and request.if_modified_since is None:
        return response
    if response.status != HTTPStatus.OK:
        return response
    fields = dict(response.headers)
    if request.if_none_match is not None:
        fresh = _etag_matches(request.if_none_match, fields.get("ETag"))
    elif request.if_modified_since is not None:
        fresh = _not_modified_since(request.if_modified_since, fields.get("Last-Modified"))
    else:
        fresh = False
    if not fresh:
        return response
    kept = tuple((name, value) for name, value in response.headers
                 if name not in ("Content-Type", "Content-Length", "Content-Encoding"))
    return Response(HTTPStatus.NOT_MODIFIED, kept)


def _etag_matches(if_none_match: str, etag: str | None) -> bool:
    if etag is None:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def _not_modified_since(if_modified_since: str, last_modified: str | None) -> bool:
    if last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
        modified = parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return modified <= since
