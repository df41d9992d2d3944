"""The parser against the gemtext specification, one behaviour at a time."""

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
    parse,
)


def lines(source: str) -> tuple[Line, ...]:
    return parse(source).lines


def test_plain_line_is_text() -> None:
    assert lines("Hello, Gemini.") == (Text("Hello, Gemini."),)


def test_empty_source_is_empty_document() -> None:
    assert parse("") == Document(())


def test_blank_line_is_empty_text() -> None:
    assert lines("a\n\nb") == (Text("a"), Text(""), Text("b"))


def test_final_newline_does_not_add_a_line() -> None:
    assert lines("a\n") == (Text("a"),)


def test_two_final_newlines_add_one_blank_line() -> None:
    assert lines("a\n\n") == (Text("a"), Text(""))


def test_crlf_line_endings() -> None:
    assert lines("# T\r\n=> /x y\r\n") == (Heading(1, "T"), Link("/x", "y"))


def test_leading_byte_order_mark_is_dropped() -> None:
    assert lines("\ufeff# Title\n") == (Heading(1, "Title"),)


def test_byte_order_mark_inside_text_is_kept() -> None:
    assert lines("a\ufeff") == (Text("a\ufeff"),)


def test_trailing_whitespace_is_stripped() -> None:
    assert lines("text \t \n") == (Text("text"),)


def test_leading_whitespace_of_text_is_kept() -> None:
    assert lines("  indented") == (Text("  indented"),)


def test_link_with_url_only_has_empty_label() -> None:
    assert lines("=> gemini://example.org/") == (Link("gemini://example.org/", ""),)


def test_link_with_label() -> None:
    assert lines("=> /about About me") == (Link("/about", "About me"),)


def test_link_without_space_after_arrow() -> None:
    assert lines("=>/about About") == (Link("/about", "About"),)


def test_link_with_tab_between_url_and_label() -> None:
    assert lines("=> /about\tAbout") == (Link("/about", "About"),)


def test_link_with_tabs_and_spaces_before_url() -> None:
    assert lines("=> \t  \t/about  \t About") == (Link("/about", "About"),)


def test_link_label_keeps_inner_whitespace() -> None:
    assert lines("=> /x a  b\tc") == (Link("/x", "a  b\tc"),)


def test_arrow_without_url_is_text() -> None:
    assert lines("=>") == (Text("=>"),)


def test_arrow_with_only_whitespace_is_text() -> None:
    assert lines("=> \t ") == (Text("=>"),)


def test_arrow_must_start_the_line() -> None:
    assert lines(" => /x") == (Text(" => /x"),)


@pytest.mark.parametrize(
    ("source", "level", "text"),
    [("# One", 1, "One"), ("## Two", 2, "Two"), ("### Three", 3, "Three")],
)
def test_heading_levels(source: str, level: int, text: str) -> None:
    assert lines(source) == (Heading(level, text),)


def test_heading_space_after_hashes_is_optional() -> None:
    assert lines("##Two") == (Heading(2, "Two"),)


def test_heading_text_leading_whitespace_is_stripped() -> None:
    assert lines("#  \t Title") == (Heading(1, "Title"),)


def test_four_hashes_is_level_three_heading_keeping_the_extra_hash() -> None:
    assert lines("#### Deep") == (Heading(3, "# Deep"),)


def test_list_item_needs_asterisk_and_space() -> None:
    assert lines("* Mercury") == (ListItem("Mercury"),)


def test_asterisk_without_space_is_text() -> None:
    assert lines("*foo") == (Text("*foo"),)


def test_asterisk_then_tab_is_text() -> None:
    assert lines("*\tfoo") == (Text("*\tfoo"),)


def test_asterisk_and_space_alone_is_empty_list_item() -> None:
    assert lines("* ") == (ListItem(""),)


def test_quote() -> None:
    assert lines("> To be or not") == (Quote("To be or not"),)


def test_quote_whitespace_after_marker_is_stripped() -> None:
    assert lines(">  \tquoted") == (Quote("quoted"),)


def test_quote_without_space() -> None:
    assert lines(">quoted") == (Quote("quoted"),)


def test_preformatted_block_with_alt_text() -> None:
    source = "```python code\nprint(1)\n```"
    assert lines(source) == (Preformatted("python code", ("print(1)",)),)


def test_preformatted_lines_are_verbatim() -> None:
    source = "```\n=> /x link\n# not a heading\n* no\n> no\n  spaced  \n```\n"
    expected = ("=> /x link", "# not a heading", "* no", "> no", "  spaced  ")
    assert lines(source) == (Preformatted("", expected),)


def test_preformatted_lines_lose_only_the_carriage_return() -> None:
    assert lines("```\r\n a \t\r\n```\r\n") == (Preformatted("", (" a \t",)),)


def test_text_after_closing_toggle_is_ignored() -> None:
    assert lines("```\nx\n``` trailing words\nafter") == (
        Preformatted("", ("x",)),
        Text("after"),
    )


def test_unclosed_preformatted_block_ends_at_end_of_file() -> None:
    assert lines("```art\n  /\\\n\n") == (Preformatted("art", ("  /\\", "")),)


def test_empty_preformatted_block() -> None:
    assert lines("```\n```") == (Preformatted("", ()),)


def test_toggle_alone_opens_empty_block() -> None:
    assert lines("```") == (Preformatted("", ()),)


def test_alt_text_is_stripped() -> None:
    assert lines("```  ascii art \t\n```") == (Preformatted("ascii art", ()),)


def test_two_backticks_are_text() -> None:
    assert lines("``not a toggle") == (Text("``not a toggle"),)


def test_document_is_iterable_and_sized() -> None:
    doc = parse("a\nb")
    assert list(doc) == [Text("a"), Text("b")]
    assert len(doc) == 2


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("", ()),
        ("\n", (Text(""),)),
        ("\r\n", (Text(""),)),
        ("\ufeff", ()),
        ("a\r\r\n", (Text("a"),)),
        ("a\rb", (Text("a\rb"),)),
        ("=>x", (Link("x", ""),)),
        ("=> x ", (Link("x", ""),)),
        ("=>\tx\t\ty z ", (Link("x", "y z"),)),
        ("=> a=>b c", (Link("a=>b", "c"),)),
        ("=>\r\n", (Text("=>"),)),
        ("= > x", (Text("= > x"),)),
        ("#", (Heading(1, ""),)),
        ("###", (Heading(3, ""),)),
        ("# ", (Heading(1, ""),)),
        ("##\t Two words ", (Heading(2, "Two words"),)),
        (" # not heading", (Text(" # not heading"),)),
        ("*", (Text("*"),)),
        ("**bold**", (Text("**bold**"),)),
        ("*  two spaces", (ListItem("two spaces"),)),
        ("* a\n* b", (ListItem("a"), ListItem("b"))),
        ("- dash", (Text("- dash"),)),
        (">", (Quote(""),)),
        ("> ", (Quote(""),)),
        ("> > nested", (Quote("> nested"),)),
        ("```", (Preformatted("", ()),)),
        ("```\n```\n```", (Preformatted("", ()), Preformatted("", ()))),
        ("```a\nb\n```c\nd", (Preformatted("a", ("b",)), Text("d"))),
        ("````", (Preformatted("`", ()),)),
        ("```\n\ufeff\n```", (Preformatted("", ("\ufeff",)),)),
        ("text\n```\n", (Text("text"), Preformatted("", ()))),
    ],
)
def test_line_table(source: str, expected: tuple[Line, ...]) -> None:
    assert lines(source) == expected
