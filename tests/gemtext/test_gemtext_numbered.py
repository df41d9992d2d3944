"""Line numbers of a parsed document, and whether its preformatted blocks were closed."""

from hypothesis import given
from hypothesis import strategies as st

from gemtext import Document, Heading, Link, Preformatted, Text, numbered, parse, to_gemtext
from gemtext.parser import BOM, TOGGLE


def numbers(source: str) -> list[int]:
    return [number for number, _ in numbered(parse(source))]


def test_lines_are_numbered_from_one() -> None:
    assert list(numbered(parse("# T\n\n=> a.gmi\n"))) == [
        (1, Heading(1, "T")),
        (2, Text("")),
        (3, Link("a.gmi")),
    ]


def test_block_is_numbered_by_its_opening_toggle() -> None:
    assert numbers("a\n```alt\nx\ny\n```\nb\n") == [1, 2, 6]


def test_empty_block_takes_its_two_toggles() -> None:
    assert numbers("```\n```\nafter") == [1, 3]


def test_leading_byte_order_mark_does_not_move_the_lines() -> None:
    assert numbers(BOM + "a\nb\n") == [1, 2]


def test_crlf_lines_are_numbered_as_lf_lines() -> None:
    assert numbers("a\r\n\r\n=> x\r\n") == [1, 2, 3]


def test_block_ended_by_its_toggle_is_closed() -> None:
    (block,) = parse("```\nx\n```\n").lines
    assert isinstance(block, Preformatted) and block.closed


def test_block_ended_by_the_source_is_not_closed() -> None:
    (block,) = parse("```\nx\n").lines
    assert isinstance(block, Preformatted) and not block.closed


def test_whether_a_block_was_closed_takes_no_part_in_equality() -> None:
    assert Preformatted("", ("x",), closed=False) == Preformatted("", ("x",))
    assert parse("```\nx") == parse("```\nx\n```")


def test_document_made_in_code_is_numbered_as_written() -> None:
    doc = Document((Text("a"), Preformatted("", ("x",)), Text("b")))
    assert [number for number, _ in numbered(doc)] == [1, 2, 5]
    assert to_gemtext(doc).split("\n")[4] == "b"


SOURCE_LINE = st.lists(
    st.sampled_from(["=> x.gmi", "=>", "```", "```alt", "# h", "* i", "> q", "", "text", "\r"]),
    max_size=12,
)


@given(SOURCE_LINE, st.booleans())
def test_each_number_points_at_the_source_line_it_was_parsed_from(
    source_lines: list[str], final_newline: bool
) -> None:
    source = "\n".join(source_lines) + ("\n" if final_newline and source_lines else "")
    raw = source.split("\n")
    taken = 0
    for number, line in numbered(parse(source)):
        assert number == taken + 1
        if isinstance(line, Preformatted):
            assert raw[number - 1].startswith(TOGGLE)
            body = raw[number : number + len(line.lines)]
            assert tuple(verbatim.rstrip("\r") for verbatim in body) == line.lines
            end = number + len(line.lines)
            assert line.closed == (end < len(raw) and raw[end].startswith(TOGGLE))
            taken = end + line.closed
        else:
            # After a first blank line, the BOM rule of line 1 cannot apply.
            assert parse("\n" + raw[number - 1] + "\n").lines[1:] == (line,)
            taken = number
    assert taken == len(raw) - (raw[-1] == "")


@given(SOURCE_LINE)
def test_numbers_survive_a_round_trip_through_gemtext(source_lines: list[str]) -> None:
    doc = parse("\n".join(source_lines))
    again = parse(to_gemtext(doc))
    assert [n for n, _ in numbered(again)] == [n for n, _ in numbered(doc)]
