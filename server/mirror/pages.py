"""HTML pages of the mirror, rendered from jinja2 templates (the operator's first, ours second)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2

import gemtext
from capsule.articles import Article, ArticlePlace, article_date
from capsule.catalog.titles import page_title
from capsule.paths import gemini_url
from capsule.publication.archive import ARCHIVE_PATH
from capsule.publication.generated import ATOM_PATH
from capsule.publication.search_pages import SEARCH_PATH, search_page
from gemtext.render_html import ImageSize
from server.hostnames import unicode_host
from server.mirror.favicon import FAVICON_PATH
from server.mirror.links import INPUT_FIELD, mirror_path, raw_path, rewrite_link
from server.mirror.metadata import page_metadata
from server.mirror.page_cache import PageCache

STYLESHEET = "style.css"
STYLESHEET_PATH = "/_capsule/" + STYLESHEET
"""Where the mirror serves the stylesheet; `/_capsule/` is reserved for the mirror's own files."""


@dataclass(frozen=True, slots=True)
class PageContext:
    """Where a page lives: the capsule path it was resolved from and the host serving it."""

    path: str
    host: str
    own_hosts: frozenset[str]
    gemini_port: int | None
    """The capsule's Gemini port for the footer link to the original; None for the default."""
    site_name: str = ""
    """What the site is called in link previews."""
    favicon: bool = False
    """Whether the capsule has an icon (a favicon.txt) for pages to link."""


class PageRenderer:
    """Renders pages, forms and error pages with autoescaping templates."""

    def __init__(
        self,
        templates: Path | None = None,
        inline_images: bool = False,
        base_url: str | None = None,
        cache_bytes: int = 32 * 1024 * 1024,
        publication: bool = False,
    ) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if templates is not None:
            loaders.append(jinja2.FileSystemLoader(templates))
        loaders.append(jinja2.PackageLoader("server.mirror", "templates"))
        self.environment = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
        )
        self.inline_images = inline_images
        self.base_url = base_url.rstrip("/") if base_url else None
        self.publication = publication
        # With a catalog, every page links the archive and search, and announces the Atom feed.
        self.navigation: dict[str, str | None] = {
            "archive_url": mirror_path(ARCHIVE_PATH) if publication else None,
            "search_url": SEARCH_PATH if publication else None,
            "feed_url": ATOM_PATH if publication else None,
        }
        # Rendering is a pure function of these arguments, so unchanged pages are not redone.
        self.cache = PageCache(cache_bytes)

    def page(
        self,
        text: str,
        lang: str | None,
        context: PageContext,
        modified: float | None = None,
        place: ArticlePlace | None = None,
        image_size: ImageSize | None = None,
    ) -> str:
        """A gemtext document as a complete HTML page with its links rewritten for the mirror;
        `modified` is when its file was last written, if it has one, `place` what lists know
        of it as an article, and `image_size` the sizes of its images (kept with the page)."""
        return self.cache.get_or_render(
            (text, lang, context, modified, place),
            text,
            lambda: self._render_page(text, lang, context, modified, place, image_size),
        )

    def _render_page(
        self,
        text: str,
        lang: str | None,
        context: PageContext,
        modified: float | None,
        place: ArticlePlace | None,
        image_size: ImageSize | None,
    ) -> str:
        document = gemtext.parse(text)

        def rewrite(url: str) -> str:
            return rewrite_link(url, context.path, context.own_hosts)

        # Titled and dated by its source file, as the catalog does: a directory by its index.gmi.
        source = raw_path(context.path) or context.path
        figures = self.inline_images and article_date(source) is not None
        content = gemtext.to_html(document, rewrite, figures, image_size)
        title = page_title(document, source)
        canonical = self._canonical(context)
        image = gemtext.first_image(document)
        metadata = page_metadata(
            document, title, source, canonical, context.site_name, lang, modified, place,
            self._absolute(rewrite(image.url)) if image is not None else None,
        )
        return self._render(
            "page.html", context, lang=lang, title=title, content=content, metadata=metadata,
            place=place, previous_url=_article_url(place.previous) if place else None,
            next_url=_article_url(place.next) if place else None,
            search_box=search_page(context.path) is not None and self.publication,
            field=INPUT_FIELD,
        )

    def input_form(self, prompt: str, sensitive: bool, lang: str | None,
                   context: PageContext) -> str:
        """A form asking for the line of input the resource needs, submitted as the query."""
        return self._render(
            "input.html",
            context,
            lang=lang,
            title=prompt,
            prompt=prompt,
            sensitive=sensitive,
            action=mirror_path(quote(context.path)),
            field=INPUT_FIELD,
        )

    def error(self, status: int, reason: str, context: PageContext | None) -> str:
        """An error page; without a context (a request we could not read) it has no footer."""
        return self._render("error.html", context, lang=None, title=reason, status=status,
                            reason=reason)

    def favicon(self, emoji: str) -> str:
        """The capsule's icon: its emoji drawn as an SVG image."""
        return self.environment.get_template("favicon.svg").render(emoji=emoji)

    def protected(self, context: PageContext) -> str:
        """The page for a path that only Gemini clients with a client certificate may see."""
        return self._render("protected.html", context, lang=None,
                            title="A Gemini client certificate is needed", status=403)

    def stylesheet(self) -> str:
        """The stylesheet source, as the template loaders find it."""
        source, _, _ = self.environment.loader.get_source(  # type: ignore[union-attr]
            self.environment, STYLESHEET
        )
        return source

    def _absolute(self, href: str) -> str | None:
        """`href` as an absolute URL: as it is if it is one, else under the base URL."""
        scheme = urlsplit(href).scheme
        if scheme:
            return href if scheme in ("http", "https") else None
        return self.base_url + href if self.base_url is not None and href.startswith("/") else None

    def _canonical(self, context: PageContext) -> str | None:
        """The page's absolute URL under the base URL, if there is one."""
        if self.base_url is None:
            return None
        return self.base_url + mirror_path(quote(context.path))

    def _render(self, name: str, context: PageContext | None, **values: object) -> str:
        links: dict[str, object] = {
            "gemini_url": None, "gemini_label": None, "raw_url": None, "canonical": None,
            "favicon_url": None, "noindex": False,
        }
        if context is not None:
            path = quote(context.path)
            # The link carries the name every client can send; its text, the one people read.
            links["gemini_url"] = gemini_url(context.host, context.gemini_port, path)
            links["gemini_label"] = gemini_url(
                unicode_host(context.host), context.gemini_port, path
            )
            links["raw_url"] = raw_path(path)
            links["canonical"] = self._canonical(context)
            links["favicon_url"] = FAVICON_PATH if context.favicon else None
            # Search results are made on demand and endless: not for search engines' indexes.
            links["noindex"] = self.publication and context.path == SEARCH_PATH
        template = self.environment.get_template(name)
        return template.render(stylesheet=STYLESHEET_PATH, **self.navigation, **links, **values)


def _article_url(article: Article | None) -> str | None:
    return None if article is None else mirror_path(quote(article.path))
