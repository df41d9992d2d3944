"""`protect=` in `.meta` files: the lines, their warnings, and what they cover along a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.rules.access import ANY_CERTIFICATE, NO_CERTIFICATE, Protection
from capsule.rules.meta import MetaIndex, MetaRule, MetaWarning, check_meta_files, parse_meta
from tests.capsule.rules.test_meta import rewrite, write

A = "a" * 64
B = "b" * 64
ONLY_A = Protection(frozenset({A}))
A_OR_B = Protection(frozenset({A, B}))
CLOSED = "line ignored, but its paths stay protected and admit no certificate until it is fixed"

# The lines


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("members/ protect=any", MetaRule("members/", 1, protect=ANY_CERTIFICATE)),
        ("/ protect=any", MetaRule("", 1, protect=ANY_CERTIFICATE)),
        (f"board.gmi protect=sha256:{A}", MetaRule("board.gmi", 1, protect=ONLY_A)),
        (f"board/* protect={A.upper()},sha256:{B}", MetaRule("board/*", 1, protect=A_OR_B)),
        (
            "board/* protect=" + ":".join(A[i : i + 2] for i in range(0, 64, 2)),
            MetaRule("board/*", 1, protect=ONLY_A),
        ),
        (
            "members/ protect=any lang=fr  # the club",
            MetaRule("members/", 1, lang="fr", protect=ANY_CERTIFICATE),
        ),
    ],
)
def test_protect_lines_parse_into_rules(line: str, rule: MetaRule) -> None:
    rules, warnings = parse_meta(line, "/.meta")
    assert warnings == []
    assert rules.rules == (rule,)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("members/ protect=", "'protect' needs a value"),
        ("members/ protect", "'protect' needs a value"),
        ("members/ protect=anyone", "bad value for 'protect': 'anyone' is not a fingerprint: "
         "'n' is not a hex digit"),
        (f"members/ protect=sha256:{A[:-1]}", f"bad value for 'protect': 'sha256:{A[:-1]}' is "
         "not a fingerprint: 63 hex digits where a SHA-256 fingerprint has 64"),
        (f"members/ protect=sha1:{A[:40]}", f"bad value for 'protect': 'sha1:{A[:40]}' is not a "
         "fingerprint: only SHA-256 fingerprints are accepted, not sha1"),
        (f"members/ protect=any,{A}", "bad value for 'protect': 'any' admits every certificate; "
         "list no fingerprints with it"),
        ("members/ protect=any colour=red", "unknown key 'colour'"),
    ],
)
def test_a_bad_protect_line_keeps_its_pattern_protected_from_everybody(
    line: str, reason: str
) -> None:
    rules, warnings = parse_meta(f"# the club\n{line}\n", "/docs/.meta")
    assert warnings == [MetaWarning("/docs/.meta", 2, reason, CLOSED)]
    assert rules.rules == (MetaRule("members/", 2, protect=NO_CERTIFICATE),)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("protect=any", "missing pattern before 'protect=any'"),
        ("../up/ protect=any", "pattern '../up/' must name paths inside this directory"),
    ],
)
def test_a_protect_line_without_a_usable_pattern_protects_nothing(line: str, reason: str) -> None:
    rules, warnings = parse_meta(line, "/.meta")
    assert rules.rules == ()
    assert warnings == [MetaWarning("/.meta", 1, reason)]


def test_the_log_says_the_paths_stay_protected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / ".meta", "members/ protect=sha256:123\n")
    assert MetaIndex(tmp_path).lookup("/members/x.gmi").protect == NO_CERTIFICATE
    assert [record.getMessage() for record in caplog.records] == [
        "/.meta:1: bad value for 'protect': 'sha256:123' is not a fingerprint: 3 hex digits "
        f"where a SHA-256 fingerprint has 64; {CLOSED}"
    ]


def test_capsule_check_reports_bad_protect_lines(tmp_path: Path) -> None:
    write(tmp_path / "club" / ".meta", "/ protect=nobody\n")
    assert check_meta_files(tmp_path) == [
        MetaWarning(
            "/club/.meta", 1,
            "bad value for 'protect': 'nobody' is not a fingerprint: 'n' is not a hex digit",
            CLOSED,
        )
    ]


# What they cover


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for page in ("index.gmi", "a.gmi", "members/index.gmi", "members/b.gmi",
                 "members/board/c.gmi", "membership.gmi"):
        write(root / page, "# page\n")
    return root


@pytest.mark.parametrize("pattern", ["members/", "members", "/members/", "members/*"])
def test_protecting_a_directory_protects_everything_below_it(root: Path, pattern: str) -> None:
    write(root / ".meta", f"{pattern} protect=any\n")
    index = MetaIndex(root)
    for path in ("/members/", "/members/index.gmi", "/members/b.gmi", "/members/board/",
                 "/members/board/c.gmi", "/members/photos/x.png"):
        assert index.lookup(path).protect == ANY_CERTIFICATE, path
    for path in ("/", "/index.gmi", "/a.gmi", "/membership.gmi"):
        assert index.lookup(path).protect is None, path


def test_a_meta_file_protecting_its_own_directory_covers_all_of_it(root: Path) -> None:
    write(root / "members" / ".meta", f"/ protect=sha256:{A}\n")
    index = MetaIndex(root)
    assert index.lookup("/members/").protect == ONLY_A
    assert index.lookup("/members/board/c.gmi").protect == ONLY_A
    assert index.lookup("/a.gmi").protect is None


def test_nearer_rules_narrow_and_never_widen_what_farther_ones_admit(root: Path) -> None:
    write(root / ".meta", f"members/ protect={A},{B}\n")
    write(root / "members" / "board" / ".meta", f"/ protect=sha256:{A}\n")
    write(root / "members" / ".meta", "b.gmi protect=any\n")
    index = MetaIndex(root)
    assert index.lookup("/members/b.gmi").protect == A_OR_B
    assert index.lookup("/members/board/c.gmi").protect == ONLY_A


def test_other_settings_still_apply_to_protected_paths(root: Path) -> None:
    write(root / ".meta", "members/ protect=any\nmembers/* lang=fr\n")
    meta = MetaIndex(root).lookup("/members/b.gmi")
    assert (meta.protect, meta.lang) == (ANY_CERTIFICATE, "fr")


def test_protecting_a_file_pattern_covers_directories_through_their_index(root: Path) -> None:
    write(root / ".meta", "*.gmi protect=any\n")
    index = MetaIndex(root)
    assert index.lookup("/members/").protect == ANY_CERTIFICATE
    assert index.lookup("/data.csv").protect is None


def test_an_edit_applies_on_the_next_lookup(root: Path) -> None:
    index = MetaIndex(root)
    assert index.lookup("/a.gmi").protect is None
    write(root / ".meta", "a.gmi protect=any\n")
    assert index.lookup("/a.gmi").protect == ANY_CERTIFICATE
    rewrite(root / ".meta", f"a.gmi protect=sha256:{A}\n")
    assert index.lookup("/a.gmi").protect == ONLY_A
    (root / ".meta").unlink()
    assert index.lookup("/a.gmi").protect is None
