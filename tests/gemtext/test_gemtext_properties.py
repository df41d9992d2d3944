"""Properties over generated input: round trips, stability and safe HTML."""

import html
import re

from hypothesis import example, given
from hypothesis import strategies as st

from gemtext import (
    Document,
    Heading,
    Link,
    ListItem,
    Preformatted,
    Quote,
    Text,
    UnrepresentableLine,
    is_safe_url,
    parse,
    to_gemtext,
    to_html,
)

# Pieces that steer generated lines towards every line type and its edge cases.
FRAGMENTS = st.sampled_from(
    [
        "=>", "```", "#", "##", "###", "####", "* ", "*", ">", " ", "\t", "\r", "\ufeff",
        "gemini://example.org/", "javascript:alert(1)", "data:text/html,x", "x.png",
        "<script>", "</pre>", "&", '"', "'", "2024-02-29", " - ", "é",
    ]
)  # fmt: skip
LINE = st.lists(st.one_of(FRAGMENTS, st.text(max_size=4)), max_size=6).map("".join)
SOURCE = st.builds(
    lambda pairs, final: "".join(line + end for line, end in pairs) + final,
    st.lists(st.tuples(LINE.map(lambda s: s.replace("\n", "")), st.sampled_from(["\n", "\r\n"]))),
    LINE,
)
ANY_SOURCE = st.one_of(SOURCE, st.text())

FIELD = st.one_of(FRAGMENTS, st.text(max_size=6))
LINES = st.one_of(
    st.builds(Text, FIELD),
    st.builds(Link, FIELD, FIELD),
    st.builds(Heading, st.integers(1, 3), FIELD),
    st.builds(ListItem, FIELD),
    st.builds(Quote, FIELD),
    st.builds(Preformatted, FIELD, st.lists(FIELD, max_size=3).map(tuple)),
)
DOCUMENTS = st.lists(LINES, max_size=8).map(lambda lines: Document(tuple(lines)))


@given(ANY_SOURCE)
@example("=> \r label")
@example("\ufeff\ufeff# x")
@example("```\na\r\r\n```")
def test_parsed_document_round_trips_through_gemtext(source: str) -> None:
    doc = parse(source)
    assert parse(to_gemtext(doc)) == doc


@given(ANY_SOURCE)
def test_gemtext_output_is_stable(source: str) -> None:
    once = to_gemtext(parse(source))
    assert to_gemtext(parse(once)) == once


@given(DOCUMENTS)
def test_constructed_document_keeps_its_line_types_or_is_refused(doc: Document) -> None:
    try:
        out = to_gemtext(doc)
    except UnrepresentableLine:
        return
    assert [type(line) for line in parse(out)] == [type(line) for line in doc]


@given(ANY_SOURCE, st.booleans())
def test_html_from_any_text_has_no_script_and_only_safe_links(
    source: str, inline_images: bool
) -> None:
    out = to_html(parse(source), inline_images=inline_images)
    assert "<script" not in out.lower()
    for value in re.findall(r'(?:href|src)="([^"]*)"', out):
        assert is_safe_url(html.unescape(value))
        assert not html.unescape(value).lower().lstrip().startswith("javascript:")


@given(DOCUMENTS, st.booleans())
def test_html_from_any_constructed_document_escapes_all_markup(
    doc: Document, inline_images: bool
) -> None:
    out = to_html(doc, inline_images=inline_images)
    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", out))
    assert tags <= {"p", "a", "h1", "h2", "h3", "ul", "li", "blockquote", "br", "pre",
                    "figure", "figcaption", "img"}  # fmt: skip
