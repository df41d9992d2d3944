"""File names to MIME types and the gemtext test (no I/O)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsule.mime import GEMTEXT_EXTENSIONS, is_gemtext, mime_type


@given(st.text(alphabet="ab./GMI", max_size=12))
def test_the_suffix_is_the_one_splitext_finds(name: str) -> None:
    assert is_gemtext(name) == (os.path.splitext(name)[1].lower() in GEMTEXT_EXTENSIONS)


@pytest.mark.parametrize(
    ("name", "gemtext"),
    [("a.gmi", True), ("A.GEMINI", True), (".gmi", False), ("..gmi", False), ("a.gmi.txt", False),
     ("dir.gmi/readme", False), ("x/.y.gmi", True), ("noext", False)],
)
def test_gemtext_names(name: str, gemtext: bool) -> None:
    assert is_gemtext(name) is gemtext


def test_a_gemtext_name_is_served_as_gemtext() -> None:
    assert mime_type("a.gmi").startswith("text/gemini")
