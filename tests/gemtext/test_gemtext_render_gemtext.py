"""Writing documents back out as gemtext."""

import pytest

from gemtext import (
    Document,
    Heading,
    Line,
    Link,
    ListItem,
    Preformatted,
    Quote,
    Text,
    UnrepresentableLine,
    parse,
    to_gemtext,
)


def test_empty_document_is_empty_string() -> None:
    assert to_gemtext(Document(())) == ""


def test_output_ends_with_one_newline() -> None:
    assert to_gemtext(Document((Text("a"),))) == "a\n"


def test_single_blank_line_is_one_newline() -> None:
    assert to_gemtext(Document((Text(""),))) == "\n"


def test_every_line_type() -> None:
    doc = Document(
        (
            Heading(1, "Title"),
            Heading(2, ""),
            Text("para"),
            Link("/a", ""),
            Link("/b", "Bee"),
            ListItem("item"),
            ListItem(""),
            Quote("q"),
            Quote(""),
            Preformatted("alt", ("x", "")),
        )
    )
    assert to_gemtext(doc) == (
        "# Title\n##\npara\n=> /a\n=> /b Bee\n* item\n* \n> q\n>\n```alt\nx\n\n```\n"
    )


def test_crlf_input_is_written_with_lf() -> None:
    assert to_gemtext(parse("a\r\nb\r\n")) == "a\nb\n"


def test_unclosed_preformatted_block_is_closed() -> None:
    assert to_gemtext(parse("```\ncode")) == "```\ncode\n```\n"


@pytest.mark.parametrize(
    "line",
    [
        Text("=> /x"),
        Text("# heading"),
        Text("> quote"),
        Text("* item"),
        Text("```"),
        Text("two\nlines"),
        Link("", "label"),
        Link("a b", ""),
        Link("a\tb", ""),
        Link("/x", "one\ntwo"),
        Link("\r", ""),
        Heading(1, "a\nb"),
        ListItem("a\n=> /x"),
        Quote("a\nb"),
        Preformatted("alt\n# x", ()),
        Preformatted("", ("```",)),
        Preformatted("", ("a\nb",)),
    ],
)
def test_line_that_would_read_back_differently_is_refused(line: Line) -> None:
    with pytest.raises(UnrepresentableLine) as caught:
        to_gemtext(Document((Text("ok"), line)))
    assert caught.value.index == 1
    assert caught.value.line == line


def test_leading_byte_order_mark_in_first_text_line_is_refused() -> None:
    with pytest.raises(UnrepresentableLine):
        to_gemtext(Document((Text("\ufeff# x"),)))


def test_byte_order_mark_after_first_line_is_written() -> None:
    doc = Document((Text("a"), Text("\ufeffb")))
    assert parse(to_gemtext(doc)) == doc


@pytest.mark.parametrize("text", ["", "=>", "=>  ", "*", "*foo", " # indented", "-"])
def test_text_that_reads_back_as_text_is_written(text: str) -> None:
    out = to_gemtext(Document((Text(text),)))
    assert parse(out).lines == (Text(text.rstrip()),)


def test_link_whose_url_is_a_carriage_return_with_label_round_trips() -> None:
    doc = parse("=> \r label")
    assert doc.lines == (Link("\r", "label"),)
    assert parse(to_gemtext(doc)) == doc


def test_heading_level_outside_one_to_three_is_rejected() -> None:
    with pytest.raises(ValueError, match="heading level"):
        Heading(4, "x")
