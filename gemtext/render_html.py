"""Render a Document as an HTML fragment for the web mirror."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape
from itertools import groupby

from gemtext.model import Document, Heading, Line, Link, ListItem, Preformatted, Quote, Text
from gemtext.query import is_image_url
from gemtext.schemes import is_safe_url

ImageSize = Callable[[str], "tuple[int, int] | None"]
"""The width and height of the image at an href, if the caller knows them."""


def to_html(
    doc: Document,
    rewrite_link: Callable[[str], str] | None = None,
    inline_images: bool = False,
    image_size: ImageSize | None = None,
) -> str:
    """Render a Document as an HTML fragment, one block element per line, every string escaped.

    Blank text lines emit nothing (paragraph spacing is left to CSS). Consecutive list items
    share one <ul>, consecutive quotes one <blockquote>. A link whose scheme is not in
    SAFE_SCHEMES is shown as plain text; `rewrite_link` maps the URL of every other link to
    its href. With `inline_images`, links to PNG, JPEG, GIF or WebP files become figures: the
    image, loaded lazily and sized by `image_size` when it knows, captioned by the link text.
    """
    figures = (image_size or _unknown_size) if inline_images else None
    out: list[str] = []
    append = out.append
    for kind, group in groupby(doc, key=type):
        if kind is ListItem:
            append("<ul>")
            out.extend(f"<li>{escape(text)}</li>" for text in _texts(group))
            append("</ul>")
        elif kind is Quote:
            quoted = "<br>".join(escape(text) for text in _texts(group))
            append(f"<blockquote>{quoted}</blockquote>")
        else:
            for line in group:
                block = _block(line, rewrite_link, figures)
                if block:
                    append(block)
    return "\n".join(out)


def _texts(group: Iterable[Line]) -> list[str]:
    return [line.text for line in group if isinstance(line, ListItem | Quote)]


def _block(
    line: Line, rewrite_link: Callable[[str], str] | None, figures: ImageSize | None
) -> str:
    match line:
        case Text(text):
            return f"<p>{escape(text)}</p>" if text else ""
        case Link():
            return _link(line, rewrite_link, figures)
        case Heading(level, text):
            return f"<h{level}>{escape(text)}</h{level}>"
        case Preformatted(alt, lines):
            # The newline after <pre> is dropped by HTML parsers, so a blank first line survives.
            pre = "<pre>\n" + "\n".join(map(escape, lines)) + "</pre>"
            if not alt:
                return pre
            return f"<figure><figcaption>{escape(alt)}</figcaption>{pre}</figure>"
    # List items and quotes are grouped by to_html and never reach here.
    raise TypeError(f"not a gemtext line: {line!r}")


def _link(line: Link, rewrite_link: Callable[[str], str] | None, figures: ImageSize | None) -> str:
    label = escape(line.label or line.url)
    if not is_safe_url(line.url):
        return f'<p class="link">{label}</p>'
    href = rewrite_link(line.url) if rewrite_link else line.url
    # The rewritten target is checked too: no caller can turn a link into script.
    if not is_safe_url(href):
        return f'<p class="link">{label}</p>'
    if figures is not None and is_image_url(line.url):
        return _figure(href, label, escape(line.label), figures(href))
    return f'<p class="link"><a href="{escape(href)}">{label}</a></p>'


def _unknown_size(href: str) -> None:
    return None


def _figure(href: str, alt: str, caption: str, size: tuple[int, int] | None) -> str:
    sized = f' width="{size[0]}" height="{size[1]}"' if size else ""
    image = f'<img src="{escape(href)}" alt="{alt}" loading="lazy" decoding="async"{sized}>'
    figcaption = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure>{image}{figcaption}</figure>"
