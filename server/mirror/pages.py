"""HTML pages of the mirror, rendered from jinja2 templates (the operator's first, ours second)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2

import gemtext
from capsule.publication import ARCHIVE_PATH, ATOM_PATH
from capsule.titles import page_title
from server.mirror.links import INPUT_FIELD, mirror_path, raw_path, rewrite_link
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
    gemini_origin: str
    """`gemini://HOST[:PORT]` of the capsule, for the footer link to the original."""


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
        # With a catalog, every page links the archive and announces the Atom feed.
        self.navigation: dict[str, str | None] = {
            "archive_url": mirror_path(ARCHIVE_PATH) if publication else None,
            "feed_url": ATOM_PATH if publication else None,
        }
        # Rendering is a pure function of these arguments, so unchanged pages are not redone.
        self.cache = PageCache(cache_bytes)

    def page(self, text: str, lang: str | None, context: PageContext) -> str:
        """A gemtext document as a complete HTML page with its links rewritten for the mirror."""
        return self.cache.get_or_render(
            (text, lang, context), text, lambda: self._render_page(text, lang, context)
        )

    def _render_page(self, text: str, lang: str | None, context: PageContext) -> str:
        document = gemtext.parse(text)

        def rewrite(url: str) -> str:
            return rewrite_link(url, context.path, context.own_hosts)

        content = gemtext.to_html(document, rewrite, inline_images=self.inline_images)
        return self._render(
            "page.html",
            context,
            lang=lang,
            # Titled by its source file, as the catalog titles it: a directory by its index.gmi.
            title=page_title(document, raw_path(context.path) or context.path),
            content=content,
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

    def _render(self, name: str, context: PageContext | None, **values: object) -> str:
        links: dict[str, str | None] = {"gemini_url": None, "raw_url": None, "canonical": None}
        if context is not None:
            path = quote(context.path)
            links["gemini_url"] = context.gemini_origin + path
            links["raw_url"] = raw_path(path)
            if self.base_url is not None:
                links["canonical"] = self.base_url + mirror_path(path)
        template = self.environment.get_template(name)
        return template.render(stylesheet=STYLESHEET_PATH, **self.navigation, **links, **values)
