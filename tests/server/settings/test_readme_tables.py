"""The README's tables of options and limits, and its TOML example, say what the declarations say.

Which table lists which settings:
- "Serving your own capsule": every top-level setting that has a flag, and `--config`.
- "The HTTP mirror": every `[mirror]` setting that is not a number, and `--no-http`.
- "Limits": every `[limits]` setting, and the number settings of `[mirror]` (its HTTP-only
  limits).
- "HTTPS of its own": every `[https]` setting.
A setting without a flag is named by its key and marked "(file only)".
A row names a flag with its metavar (none for a switch), or a key; its default cell, backticks
aside, is the declaration's shown default, "none" when it has none. The catalog's and feeds'
flags have no table: the TOML example, checked below, lists them with every other key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server.settings.reading import SETTINGS, Setting, read_file
from tests.server.settings.test_settings import serve_options

README = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Row:
    """One row of an option table: a flag with its metavar, or a file key; then its default."""

    name: str
    metavar: str | None
    file_only: bool
    default: str | None


def section_of(heading: str) -> str:
    """The README text from `heading` to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = README.index(f"\n{heading}\n")
    ends = [README.find(f"\n{'#' * depth} ", start + 1) for depth in range(1, len(level) + 1)]
    return README[start : min([end for end in ends if end != -1] or [len(README)])]


def table(heading: str) -> list[Row]:
    """The rows of the first table under `heading`."""
    text = section_of(heading)
    first = re.search(r"(^\|.*\n)+", text, re.MULTILINE)
    assert first, f"no table under {heading}"
    rows = []
    for line in first.group(0).splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        named = re.fullmatch(r"`([^`]+)`( \(file only\))?", cells[0])
        assert named, f"{heading}: cannot read the first cell of {line!r}"
        name, _, metavar = named.group(1).partition(" ")
        default = cells[2].replace("`", "") if len(cells) > 2 else None
        rows.append(Row(name, metavar or None, bool(named.group(2)), default))
    return rows


OPTIONS = table("## Serving your own capsule")
MIRROR = table("## The HTTP mirror")
LIMITS = table("## Limits")
HTTPS = table("### HTTPS of its own (--https, ACME)")


def by_name(setting: Setting) -> str:
    """How a table names a setting: its flag, else its key."""
    return setting.flag or setting.key


def is_number(setting: Setting) -> bool:
    return setting.kind in (int, float)


def setting_named(row: Row) -> Setting:
    found = [s for s in SETTINGS.values() if by_name(s) == row.name]
    assert found, f"{row.name} is not a declared setting"
    return found[0]


def test_option_table_lists_every_top_level_flag() -> None:
    declared = {s.flag for s in SETTINGS.values() if s.section is None and s.flag}
    assert {row.name for row in OPTIONS} == declared | {"--config"}


def test_mirror_table_lists_every_mirror_option_but_its_limits() -> None:
    declared = {by_name(s) for s in SETTINGS.values() if s.section == "mirror" and not is_number(s)}
    assert {row.name for row in MIRROR} == declared | {"--no-http"}


def test_limits_table_lists_every_limit_and_the_mirror_limits() -> None:
    declared = {
        by_name(s)
        for s in SETTINGS.values()
        if s.section == "limits" or (s.section == "mirror" and is_number(s))
    }
    assert {row.name for row in LIMITS} == declared


def test_https_table_lists_every_https_setting() -> None:
    declared = {by_name(s) for s in SETTINGS.values() if s.section == "https"}
    assert {row.name for row in HTTPS} == declared


@pytest.mark.parametrize("row", OPTIONS + MIRROR + LIMITS + HTTPS, ids=lambda row: row.name)
def test_a_row_says_what_its_declaration_says(row: Row) -> None:
    if row.name in ("--config", "--no-http"):
        return  # not settings: the file itself, and the mirror's absence
    setting = setting_named(row)
    assert row.file_only == (setting.flag is None)
    if setting.flag is not None:
        assert row.metavar == setting.declaration.metavar
    if row.default is not None:
        assert row.default == (setting.shown_default or "none")


@pytest.mark.parametrize(
    "row",
    [row for row in OPTIONS + MIRROR + LIMITS + HTTPS if not row.file_only],
    ids=lambda r: r.name,
)
def test_a_flag_in_a_table_is_an_option_of_serve_with_that_metavar(row: Row) -> None:
    options = serve_options()
    assert row.name in options
    assert options[row.name].metavar == row.metavar


def toml_example() -> str:
    found = re.search(r"```toml\n(.*?)```", section_of("## Configuration file"), re.DOTALL)
    assert found
    return found.group(1)


def test_toml_example_is_a_file_capsule_reads(tmp_path: Path) -> None:
    path = tmp_path / "capsule.toml"
    path.write_text(toml_example())
    read_file(path)


def test_toml_example_names_the_flag_of_each_key_it_comments() -> None:
    options = serve_options()
    table_name = ""
    checked = 0
    for line in toml_example().splitlines():
        if header := re.match(r"\[+([a-z_]+)\]+", line):
            table_name = header.group(1)
        elif commented := re.match(r"([a-z_]+) = .*?#.*?(--[a-z-]+)", line):
            key = f"{table_name}.{commented.group(1)}" if table_name else commented.group(1)
            assert options[commented.group(2)].dest == key, line
            checked += 1
    assert checked > 10


def test_toml_example_shows_every_section_setting_with_its_default() -> None:
    document = tomllib.loads(toml_example())
    for setting in SETTINGS.values():
        if setting.section is None:
            continue
        table_values: dict[str, Any] = document[setting.section]
        assert setting.name in table_values, f"{setting.key} is missing from the example"
        if setting.default is not None:
            default = setting.default
            if isinstance(default, tuple):
                default = [str(item) for item in default]
            assert table_values[setting.name] == default, setting.key
