"""The head reader finds the heading and summary text a full gemtext parse finds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsule.catalog.heads import read_head
from capsule.summaries import summary_line
from gemtext import first_paragraph, parse, title


def _parsed(body: str) -> tuple[str | None, str]:
    """What the full parse says: the first heading, and the summary text of the body."""
    document = parse(body)
    return title(document), summary_line(document) or first_paragraph(document) or ""


@pytest.mark.parametrize(
    "body",
    [
        "# Title\n\nFirst paragraph.\n",
        "```\n# not a heading\nnot prose either\n```\n# Real title\nProse.\n",
        "```\n# unclosed block\n",
        "```alt text\n\n```\n## Level two\nText.\n",
        "#\n# Second heading\nText.\n",
        "#### Four hashes\n",
        "#\t Tabbed heading \t\r\n",
        "\ufeff# After a byte-order mark\n",
        "* a list item\n> a quote\n=> /link Label\n=>\nAfter.\n",
        "=> \t\n# T\n",
        "*\n# T\n",
        "* \n# T\n",
        "2026-11-25 dateline\nBy Ann Author\nFollowing:\nThe prose.\n# T\n",
        "# T\nA paragraph.\nSummary: said on line three\n",
        "# T\n" + "line\n" * 9 + "Summary: on line eleven, too late\n",
        "# T\n```\n" + "verbatim\n" * 20 + "```\nSummary: a block is one line\n",
        "Text first\n\n\n\n\n\n\n\n\n\n\n\n# Title far below\n",
        "  Summary:   spaced  out  \n# T\n",
        "No heading at all.\n",
        "",
        "\r\n\r\n# CRLF title\r\nCRLF prose.\r\n",
    ],
)
def test_head_reader_agrees_with_the_full_parse(body: str) -> None:
    head = read_head(body)
    assert (head.heading, head.about) == _parsed(body)


def test_head_reader_without_summary_still_finds_the_heading() -> None:
    head = read_head("Prose.\n```\n# no\n```\n## Yes\n", with_summary=False)
    assert (head.heading, head.about) == ("Yes", "")


_LINES = st.sampled_from(
    [
        "", " ", "# Title", "## Sub", "###", "#", "```", "``` alt", "* item", "*", "* ",
        "> quote", "=> /x Label", "=>", "=> ", "Prose line.", "2026-11-25 dateline",
        "By Someone", "Intro:", "Summary: the point", "summary:", "\ufeff", "\t", "text\r",
    ]
)


@given(st.lists(st.one_of(_LINES, st.text(max_size=12)), max_size=30), st.booleans())
def test_head_reader_agrees_with_the_full_parse_on_any_lines(
    lines: list[str], final_newline: bool
) -> None:
    body = "\n".join(lines) + ("\n" if final_newline else "")
    head = read_head(body)
    assert (head.heading, head.about) == _parsed(body)
