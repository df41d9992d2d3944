"""`draft` and `published=` in `.meta` files: the lines, their warnings, and what they cover."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from capsule.rules.front_lines import NEVER
from capsule.rules.meta import MetaIndex, MetaRule, MetaWarning, parse_meta
from tests.capsule.rules.test_meta import write

MORNING = datetime(2026, 11, 27, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("drafts/ draft", MetaRule("drafts/", 1, draft=True)),
        ("budget.gmi draft lang=fr", MetaRule("budget.gmi", 1, lang="fr", draft=True)),
        ("budget.gmi published=2026-11-27T08:00:00Z", MetaRule("budget.gmi", 1,
                                                                 published=MORNING)),
        ("budget.gmi published=2026-11-27T09:00+01:00", MetaRule("budget.gmi", 1,
                                                                   published=MORNING)),
        ("budget.gmi published=2026-11-27", MetaRule("budget.gmi", 1,
                                                     published=datetime(2026, 11, 27, tzinfo=UTC))),
    ],
)
def test_editorial_lines_are_read(line: str, rule: MetaRule) -> None:
    rules, warnings = parse_meta(line + "\n", "/.meta")
    assert (rules.rules, warnings) == ((rule,), [])


@pytest.mark.parametrize(
    ("line", "reason", "rule", "outcome"),
    [
        ("drafts/ draft=yes", "'draft' takes no value", MetaRule("drafts/", 1, draft=True),
         "line ignored, but its paths stay drafts until it is fixed"),
        ("x.gmi published=friday",
         "bad value for 'published': 'friday' (a date or a time such as 2026-11-25T08:00:00Z)",
         MetaRule("x.gmi", 1, published=NEVER),
         "line ignored, but its paths stay unpublished until it is fixed"),
        ("x.gmi published=", "'published' needs a value", MetaRule("x.gmi", 1, published=NEVER),
         "line ignored, but its paths stay unpublished until it is fixed"),
        ("x.gmi draft colour=red", "unknown key 'colour'", MetaRule("x.gmi", 1, draft=True),
         "line ignored, but its paths stay drafts until it is fixed"),
        ("x.gmi protect=nobody draft", "bad value for 'protect': 'nobody' is not a fingerprint: "
         "'n' is not a hex digit", None,
         "line ignored, but its paths stay protected and admit no certificate and drafts until "
         "it is fixed"),
    ],
)
def test_a_bad_editorial_line_holds_its_pattern_back(
    line: str, reason: str, rule: MetaRule | None, outcome: str
) -> None:
    rules, warnings = parse_meta(line + "\n", "/.meta")
    assert warnings == [MetaWarning("/.meta", 1, reason, outcome)]
    if rule is not None:
        assert rules.rules == (rule,)


def test_a_draft_directory_covers_everything_below_it(tmp_path: Path) -> None:
    write(tmp_path / ".meta", "drafts/ draft\n")
    index = MetaIndex(tmp_path)
    for path in ("/drafts/", "/drafts/a.gmi", "/drafts/2026/11/27/b.gmi", "/drafts/photo.png"):
        assert index.lookup(path).draft, path
    assert not index.lookup("/drafting.gmi").draft
    assert not index.lookup("/a.gmi").draft


def test_a_draft_index_page_makes_its_directory_a_draft(tmp_path: Path) -> None:
    write(tmp_path / ".meta", "*/index.gmi draft\n")
    assert MetaIndex(tmp_path).lookup("/section/").draft


def test_a_nearer_file_cannot_undo_a_draft(tmp_path: Path) -> None:
    write(tmp_path / ".meta", "drafts/ draft\n")
    write(tmp_path / "drafts" / ".meta", "a.gmi lang=fr\n")
    meta = MetaIndex(tmp_path).lookup("/drafts/a.gmi")
    assert meta.draft and meta.lang == "fr"


def test_the_nearest_publication_time_wins(tmp_path: Path) -> None:
    write(tmp_path / ".meta", "2026/* published=2026-12-01\n")
    write(tmp_path / "2026" / ".meta", "11/27/*.gmi published=2026-11-27T08:00:00Z\n")
    index = MetaIndex(tmp_path)
    assert index.lookup("/2026/11/27/budget.gmi").published == MORNING
    assert index.lookup("/2026/11/28/other.gmi").published == datetime(2026, 12, 1, tzinfo=UTC)
    assert index.lookup("/2025/x.gmi").published is None


def test_a_later_line_sets_the_publication_time_over_an_earlier_one(tmp_path: Path) -> None:
    write(
        tmp_path / ".meta", "*.gmi published=2026-12-01\nbudget.gmi published=2026-11-27T08:00Z\n"
    )
    assert MetaIndex(tmp_path).lookup("/budget.gmi").published == MORNING


def test_rules_say_whether_they_withdraw_or_publish(tmp_path: Path) -> None:
    rules, _ = parse_meta(
        "old.gmi gone\nmoved/* redirect=/new/\n2026/*.gmi published=2026-11-27T08:00:00Z\n"
        "*.gmi lang=fr\n",
        "/.meta",
    )
    assert rules.affects_lists
    assert rules.withdraws("old.gmi") and rules.withdraws("moved/a/b.gmi")
    assert not rules.withdraws("older.gmi") and not rules.withdraws("moves/a.gmi")
    assert rules.publication("2026/x.gmi") == MORNING
    assert rules.publication("x.gmi") is None
    assert not parse_meta("*.gmi lang=fr\n", "/.meta")[0].affects_lists
