"""Gemtext (text/gemini): parse it, inspect it, render it as gemtext or as HTML."""

from gemtext.model import (
    Document,
    Heading,
    Line,
    Link,
    ListItem,
    Preformatted,
    Quote,
    Text,
)
from gemtext.parser import numbered, parse
from gemtext.query import (
    FeedEntry,
    feed_entries,
    first_image,
    first_paragraph,
    is_image_url,
    links,
    title,
)
from gemtext.render_gemtext import UnrepresentableLine, to_gemtext
from gemtext.render_html import to_html
from gemtext.schemes import SAFE_SCHEMES, is_safe_url

__all__ = [
    "SAFE_SCHEMES",
    "Document",
    "FeedEntry",
    "Heading",
    "Line",
    "Link",
    "ListItem",
    "Preformatted",
    "Quote",
    "Text",
    "UnrepresentableLine",
    "feed_entries",
    "first_image",
    "first_paragraph",
    "is_image_url",
    "is_safe_url",
    "links",
    "numbered",
    "parse",
    "title",
    "to_gemtext",
    "to_html",
]
