"""`capsule build`: write the whole mirror as static files, byte for byte what it serves,
with gzip siblings."""

from __future__ import annotations

import logging
import shutil
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote, urlsplit

from capsule.mime import is_gemtext
from capsule.paths import join, remove_dot_segments
from capsule.publication.robots import ROBOTS_PATH
from capsule.resources import File
from capsule.tree import Served, walk_served
from server.accesslog import ERROR_LOGGER
from server.assemble import catalogs_of
from server.mirror.encoding import GZIP, compress, compressible
from server.mirror.links import PAGE_INDEX, PAGE_SUFFIX, mirror_path
from server.mirror.pages import STYLESHEET_PATH
from server.mirror.responses import ATOM, HTML, Request, Response
from server.mirror.site import build_mirror
from server.mirror.sitemap import SITEMAP_MIME
from server.settings.config import Config, ConfigError

logger = logging.getLogger(ERROR_LOGGER)


def export(config: Config, outdir: Path) -> int:
    """Write the mirror of the first host's capsule into `outdir`; return the files written.

    Every file under the root is written, then robots.txt and the sitemaps, then every page
    reachable by internal links from those pages (generated ones such as an archive
    included), each through `Mirror.respond`.
    What readers may not see is left out: protected files and drafts (the mirror answers
    them 403), withdrawn files and files not published yet.
    """
    mirror, _ = build_mirror(config)
    for catalog in catalogs_of(mirror.capsules):
        catalog.refresh()
    host = config.hosts[0].name.lower()
    capsule = mirror.capsules[host]
    root = capsule.root
    target = outdir.resolve()
    if target == root or target.is_relative_to(root):
        raise ConfigError(f"build: {outdir} is inside the capsule root {root}")
    published = list(_published(root))
    files = [path for path in published if not capsule.withheld(path)]
    if withheld := len(published) - len(files):
        logger.warning("build: %d files not written: protected, drafts, withdrawn or not "
                       "published yet", withheld)
    pages = [mirror_path(path) for path in files if is_gemtext(path)]
    capsule = mirror.capsules[host]
    robots = [ROBOTS_PATH] if capsule.robots is not None else []
    crawlers = [*robots, *mirror.sitemaps.files(capsule, mirror.renderer.base_url or "")]
    # Pages come after files: where a page and a file claim one name, the page wins, as live.
    queue = deque(dict.fromkeys([STYLESHEET_PATH, *files, *crawlers, *pages]))
    seen = set(queue)
    written = 0
    while queue:
        path = queue.popleft()
        response = mirror.respond(Request("GET", host, path))
        if not _exportable(path, response, config):
            continue
        _write(output_file(target, path), response)
        written += 1
        if dict(response.headers)["Content-Type"] == HTML and isinstance(response.body, bytes):
            for link in internal_links(path, response.body.decode("utf-8")):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
    return written


def internal_links(page: str, html: str) -> list[str]:
    """Decoded mirror paths of the same-site links (href and src) of an HTML page."""
    collector = _LinkCollector()
    collector.feed(html)
    paths = []
    for url in collector.urls:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path or parts.query:
            continue
        # Joined before decoding, as a browser joins; then dot segments that were escaped.
        paths.append(remove_dot_segments(unquote(join(page, parts.path))))
    return paths


def output_file(outdir: Path, path: str) -> Path:
    """Where the export keeps the answer for mirror path `path` (decoded)."""
    if path.endswith("/"):
        path += PAGE_INDEX
    return outdir.joinpath(*path.strip("/").split("/"))


def _published(root: Path) -> Iterator[str]:
    """Capsule paths of every file the capsule serves under the root, sorted by directory."""
    for found in walk_served(root):
        if isinstance(found, Served) and not found.is_directory:
            yield found.url


def _exportable(path: str, response: Response, config: Config) -> bool:
    if response.status != HTTPStatus.OK:
        logger.warning("build: %s answers %d; not written", path, response.status)
        return False
    content_type = dict(response.headers)["Content-Type"]
    if content_type == HTML and not path.endswith(("/", PAGE_SUFFIX)):
        # A static host types files by extension: it would not serve this one as HTML.
        logger.warning("build: %s is a page without .html; it needs the live mirror", path)
        return False
    absolute = content_type in (ATOM, SITEMAP_MIME)
    if absolute and (config.mirror is None or config.mirror.base_url is None):
        logger.warning("build: %s needs absolute URLs; give --base-url to write it", path)
        return False
    return True


def _write(destination: Path, response: Response) -> None:
    """Write the file, and next to it `NAME.gz` when the live mirror sends it compressed, for
    nginx's `gzip_static`: the same bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    body = response.body
    if isinstance(body, File):
        shutil.copyfile(body.path, destination)  # streamed live, as it is
        return
    destination.write_bytes(body)
    if compressible(dict(response.headers)["Content-Type"], len(body)):
        gzipped = destination.with_name(destination.name + ".gz")
        gzipped.write_bytes(compress(body, GZIP))


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("href", "src") and value]
