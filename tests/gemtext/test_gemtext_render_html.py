"""Rendering documents as HTML fragments."""

import html
import re
from collections.abc import Callable

import pytest

from gemtext import Document, Link, Preformatted, Quote, Text, parse, to_html


def render(
    source: str,
    rewrite_link: Callable[[str], str] | None = None,
    inline_images: bool = False,
) -> str:
    return to_html(parse(source), rewrite_link, inline_images)


def test_text_is_a_paragraph() -> None:
    assert render("Hello") == "<p>Hello</p>"


def test_blank_lines_render_nothing() -> None:
    assert render("a\n\n\nb") == "<p>a</p>\n<p>b</p>"


def test_empty_document_is_empty_fragment() -> None:
    assert render("") == ""


@pytest.mark.parametrize("level", [1, 2, 3])
def test_heading_levels(level: int) -> None:
    assert render("#" * level + " T") == f"<h{level}>T</h{level}>"


def test_link_with_label() -> None:
    assert render("=> gemini://example.org/ Example") == (
        '<p class="link"><a href="gemini://example.org/">Example</a></p>'
    )


def test_link_without_label_shows_url() -> None:
    assert render("=> /about") == '<p class="link"><a href="/about">/about</a></p>'


def test_consecutive_list_items_share_one_list() -> None:
    assert render("* a\n* b\ntext\n* c") == (
        "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<p>text</p>\n<ul>\n<li>c</li>\n</ul>"
    )


def test_consecutive_quotes_share_one_blockquote() -> None:
    assert render("> a\n> b") == "<blockquote>a<br>b</blockquote>"


def test_blank_line_separates_quotes() -> None:
    assert render("> a\n\n> b") == "<blockquote>a</blockquote>\n<blockquote>b</blockquote>"


def test_preformatted_without_alt_is_bare_pre() -> None:
    assert render("```\n  x\n\n  y\n```") == "<pre>\n  x\n\n  y</pre>"


def test_preformatted_keeps_leading_blank_line() -> None:
    # HTML drops one newline right after <pre>; the renderer adds it so the blank line stays.
    assert render("```\n\nx\n```") == "<pre>\n\nx</pre>"


def test_preformatted_alt_text_is_the_figure_caption() -> None:
    assert render("```A cat\n=^.^=\n```") == (
        "<figure><figcaption>A cat</figcaption><pre>\n=^.^=</pre></figure>"
    )


def test_rewrite_link_receives_raw_url_and_result_is_escaped() -> None:
    seen: list[str] = []

    def rewrite(url: str) -> str:
        seen.append(url)
        return "/mirror?u=" + url + "&x=1"

    out = render("=> gemini://h/a b", rewrite_link=rewrite)
    assert seen == ["gemini://h/a"]
    assert 'href="/mirror?u=gemini://h/a&amp;x=1"' in out


def test_rewrite_link_is_not_called_for_unsafe_links() -> None:
    seen: list[str] = []

    def rewrite(url: str) -> str:
        seen.append(url)
        return url

    out = render("=> javascript:alert(1) x", rewrite_link=rewrite)
    assert seen == []
    assert out == '<p class="link">x</p>'


def test_rewrite_to_unsafe_scheme_renders_text() -> None:
    out = render("=> /x label", rewrite_link=lambda url: "javascript:alert(1)")
    assert out == '<p class="link">label</p>'


def test_unsafe_link_renders_escaped_label_without_anchor() -> None:
    assert render("=> javascript:alert(1) <b>hi</b>") == (
        '<p class="link">&lt;b&gt;hi&lt;/b&gt;</p>'
    )


@pytest.mark.parametrize("suffix", ["png", "JPG", "jpeg", "gif", "webp"])
def test_inline_images(suffix: str) -> None:
    out = render(f"=> /pics/cat.{suffix} A cat", inline_images=True)
    assert out == (
        f'<figure><img src="/pics/cat.{suffix}" alt="A cat" loading="lazy" decoding="async">'
        "<figcaption>A cat</figcaption></figure>"
    )


def test_a_figure_carries_the_size_the_caller_knows() -> None:
    out = to_html(
        parse("=> /cat.png A <cat>"), inline_images=True, image_size=lambda href: (640, 480)
    )
    assert out == (
        '<figure><img src="/cat.png" alt="A &lt;cat&gt;" loading="lazy" decoding="async" '
        'width="640" height="480"><figcaption>A &lt;cat&gt;</figcaption></figure>'
    )


def test_an_image_link_without_text_has_no_caption() -> None:
    out = render("=> /cat.png", inline_images=True)
    assert "<figcaption>" not in out


def test_image_suffix_is_read_before_query_and_fragment() -> None:
    out = render("=> /cat.png?size=2#top A cat", inline_images=True)
    assert out.startswith("<figure><img ")


def test_svg_is_never_inlined() -> None:
    out = render("=> /logo.svg Logo", inline_images=True)
    assert out == '<p class="link"><a href="/logo.svg">Logo</a></p>'


def test_images_are_links_unless_asked() -> None:
    assert render("=> /cat.png A cat") == '<p class="link"><a href="/cat.png">A cat</a></p>'


def test_inline_image_uses_rewritten_url() -> None:
    out = render("=> cat.png", inline_images=True, rewrite_link=lambda url: "/m/" + url)
    assert out == (
        '<figure><img src="/m/cat.png" alt="cat.png" loading="lazy" decoding="async"></figure>'
    )


def test_unsafe_image_link_is_not_inlined() -> None:
    out = render("=> data:image/png;base64,AAAA.png pic", inline_images=True)
    assert out == '<p class="link">pic</p>'


# --- hostile input in every position -------------------------------------------------------

PAYLOAD = "<script>alert(\"x\")</script><img src=x onerror='alert(1)'>"


@pytest.mark.parametrize(
    "source",
    [
        PAYLOAD,
        f"# {PAYLOAD}",
        f"## {PAYLOAD}",
        f"### {PAYLOAD}",
        f"* {PAYLOAD}",
        f"> {PAYLOAD}",
        f"> a\n> {PAYLOAD}",
        f"=> /x {PAYLOAD}",
        '=> /x"><script>alert(1)</script>',
        "=> <script>alert(1)</script>",
        f"```{PAYLOAD}\nx\n```",
        f"```\n{PAYLOAD}\n```",
        '=> x" onmouseover="alert(1)',
    ],
    ids=lambda source: source[:20],
)
def test_markup_in_any_position_is_escaped(source: str) -> None:
    for inline_images in (False, True):
        out = render(source, inline_images=inline_images)
        assert "<script" not in out.lower()
        assert "<img src=x" not in out
        assert "onerror='" not in out
        assert not re.search(r"<a [^>]*\son\w+=", out)


def hrefs(fragment: str) -> list[str]:
    """Every href/src value as a browser would read it: unescaped, tab/newline-free, trimmed."""
    values = re.findall(r'(?:href|src)="([^"]*)"', fragment)
    control = "".join(map(chr, range(0x21)))
    return [
        re.sub(r"[\t\n\r]", "", html.unescape(value)).strip(control).lower() for value in values
    ]


UNSAFE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "\x00javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "javascript\t:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "file:///etc/passwd",
    "blob:https://example.org/uuid",
    "\u212aavascript:alert(1)",
]


@pytest.mark.parametrize("url", UNSAFE_URLS, ids=repr)
def test_unsafe_url_never_becomes_an_href(url: str) -> None:
    for inline_images in (False, True):
        for rewrite in (None, lambda u: u):
            out = to_html(Document((Link(url, "label"),)), rewrite, inline_images)
            for value in hrefs(out):
                assert not value.startswith(("javascript:", "data:", "vbscript:", "file:"))
            assert "<a " not in out


@pytest.mark.parametrize("url", [u for u in UNSAFE_URLS if not any(c in u for c in " \t\n")])
def test_unsafe_parsed_link_renders_as_text(url: str) -> None:
    doc = parse(f"=> {url} label")
    assert doc.lines == (Link(url, "label"),)
    assert to_html(doc) == '<p class="link">label</p>'


@pytest.mark.parametrize(
    "url", ["&#106;avascript:alert(1)", "jav&#x09;ascript:alert(1)", "javascript&#58;alert(1)"]
)
def test_entity_encoded_scheme_stays_inert(url: str) -> None:
    out = render(f"=> {url} x")
    assert hrefs(out)
    assert all(not value.startswith("javascript:") for value in hrefs(out))
    assert "&amp;#" in out


def test_quote_characters_are_escaped_in_attributes() -> None:
    out = to_html(Document((Link("/a'b\"c", "x"),)))
    assert out == '<p class="link"><a href="/a&#x27;b&quot;c">x</a></p>'


def test_constructed_lines_are_escaped_too() -> None:
    doc = Document((Text("<b>"), Quote("&"), Preformatted("<alt>", ("</pre><script>",))))
    assert to_html(doc) == (
        "<p>&lt;b&gt;</p>\n<blockquote>&amp;</blockquote>\n"
        "<figure><figcaption>&lt;alt&gt;</figcaption><pre>\n&lt;/pre&gt;&lt;script&gt;</pre></figure>"
    )
