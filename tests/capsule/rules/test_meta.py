"""`.meta` files: their format, how rules combine along a path, and what resolve makes of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capsule.catalog.store import Catalog
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import File, Gone, NotFound, Page, Redirect
from capsule.root import Capsule
from capsule.rules.meta import (
    Meta,
    MetaIndex,
    MetaRule,
    MetaWarning,
    check_meta_files,
    parse_meta,
)
from capsule.rules.policy import AccessPolicy
from capsule.rules.redirects import RedirectRule
from server.gemini.protocol import response_header


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def rewrite(path: Path, text: str) -> None:
    """Change a file and make sure its mtime moves, even on a coarse-grained clock."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


# The format


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("*.gmi lang=fr", MetaRule("*.gmi", 1, lang="fr")),
        ("*.gmi lang=en-GB,fr", MetaRule("*.gmi", 1, lang="en-GB,fr")),
        ("data/*.csv mime=text/csv", MetaRule("data/*.csv", 1, mime="text/csv; charset=utf-8")),
        (
            "x.txt mime=text/plain;charset=latin-1",
            MetaRule("x.txt", 1, mime="text/plain; charset=latin-1"),
        ),
        ("a.bin mime=Image/PNG", MetaRule("a.bin", 1, mime="image/png")),
        ("old.gmi redirect=/new.gmi", MetaRule("old.gmi", 1, redirect="/new.gmi")),
        (
            "moved/ redirect-temporary=/elsewhere/",
            MetaRule("moved/", 1, redirect="/elsewhere/", permanent=False),
        ),
        (
            "far.gmi redirect=gemini://example.org/far.gmi",
            MetaRule("far.gmi", 1, redirect="gemini://example.org/far.gmi"),
        ),
        ("removed.gmi gone", MetaRule("removed.gmi", 1, gone=True)),
        ("/ listing", MetaRule("", 1, listing=True)),
        ("/ listing=no", MetaRule("", 1, listing=False)),
        ("/sub/page.gmi lang=de", MetaRule("sub/page.gmi", 1, lang="de")),
        ("*.gmi lang=fr listing", MetaRule("*.gmi", 1, lang="fr", listing=True)),
        ("x.gmi gone redirect=/y.gmi", MetaRule("x.gmi", 1, redirect="/y.gmi")),
        ("x.gmi redirect=/y.gmi gone", MetaRule("x.gmi", 1, gone=True)),
        ("x.gmi lang=fr # French, for now", MetaRule("x.gmi", 1, lang="fr")),
        ("  indented.gmi\tlang=fr  ", MetaRule("indented.gmi", 1, lang="fr")),
    ],
)
def test_each_setting_parses_into_a_rule(line: str, rule: MetaRule) -> None:
    rules, warnings = parse_meta(line, "/.meta")
    assert warnings == []
    assert rules.rules == (rule,)


def test_comments_and_blank_lines_are_skipped_but_counted() -> None:
    rules, warnings = parse_meta("# rules\n\n   # more\n*.gmi lang=fr\n", "/.meta")
    assert warnings == []
    assert rules.rules == (MetaRule("*.gmi", 4, lang="fr"),)


NOT_A_TARGET = "(an absolute path or a full URL)"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("*.gmi colour=blue", "unknown key 'colour'"),
        ("*.gmi lang=fr colour=blue", "unknown key 'colour'"),
        ("*.gmi mime=text", "bad value for 'mime': 'text' (type/subtype)"),
        ("*.gmi mime=", "'mime' needs a value"),
        ("*.gmi lang=fr_FR", "bad value for 'lang': 'fr_FR' (language tags such as en or fr-CA)"),
        ("*.gmi lang=", "'lang' needs a value"),
        ("old.gmi redirect=new.gmi", f"bad redirect target 'new.gmi' {NOT_A_TARGET}"),
        (
            "old.gmi redirect=//host/x",
            "bad redirect target '//host/x' (scheme-relative URL (another host); write the scheme)",
        ),
        ("x.gmi redirect=/\\evil.example/", "bad redirect target '/\\\\evil.example/' (backslash)"),
        ("x.gmi redirect=/a\\b", "bad redirect target '/a\\\\b' (backslash)"),
        (
            "x.gmi redirect=https://a.example\\@b/",
            "bad redirect target 'https://a.example\\\\@b/' (backslash)",
        ),
        ("old.gmi redirect=mailto:me", f"bad redirect target 'mailto:me' {NOT_A_TARGET}"),
        ("old.gmi redirect=/a\x7fb", "bad redirect target '/a\\x7fb' (control character)"),
        ("old.gmi gone=yes", "'gone' takes no value"),
        ("/ listing=maybe", "bad value for 'listing': 'maybe' (yes or no)"),
        ("lang=fr", "missing pattern before 'lang=fr'"),
        ("lang=fr *.gmi", "missing pattern before 'lang=fr'"),
        ("gone", "missing pattern before 'gone'"),
        ("listing", "missing pattern before 'listing'"),
        ("old.gmi", "no settings after pattern 'old.gmi'"),
        ("../up.gmi gone", "pattern '../up.gmi' must name paths inside this directory"),
        ("a/./b.gmi gone", "pattern 'a/./b.gmi' must name paths inside this directory"),
        ("a//b.gmi gone", "pattern 'a//b.gmi' must name paths inside this directory"),
    ],
)
def test_bad_line_is_a_warning_with_its_reason(line: str, reason: str) -> None:
    rules, warnings = parse_meta(f"# first line\n{line}\n", "/docs/.meta")
    assert rules.rules == ()
    assert warnings == [MetaWarning("/docs/.meta", 2, reason)]


def test_good_lines_apply_around_bad_ones() -> None:
    rules, warnings = parse_meta("*.gmi lang=fr\nx.gmi bogus\n*.txt mime=text/csv\n", "/.meta")
    assert [rule.line for rule in rules.rules] == [1, 3]
    assert [warning.line for warning in warnings] == [2]


def test_warning_reads_as_file_line_reason() -> None:
    assert str(MetaWarning("/docs/.meta", 7, "unknown key 'x'")) == "/docs/.meta:7: unknown key 'x'"


# Rules along a path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for page in (
        "index.gmi",
        "a.gmi",
        "sub/index.gmi",
        "sub/b.gmi",
        "sub/deep/c.gmi",
        "data/x.csv",
        "x.csv",
        "notes.txt",
    ):
        write(root / page, "# page\n")
    return root


def test_no_meta_files_mean_no_metadata(root: Path) -> None:
    assert MetaIndex(root).lookup("/sub/deep/c.gmi") == Meta()


def test_rules_apply_to_the_directory_and_below(root: Path) -> None:
    write(root / ".meta", "*.gmi lang=fr\n")
    index = MetaIndex(root)
    assert index.lookup("/a.gmi").lang == "fr"
    assert index.lookup("/sub/deep/c.gmi").lang == "fr"
    assert index.lookup("/notes.txt").lang is None


def test_nearest_meta_file_wins_per_key(root: Path) -> None:
    write(root / ".meta", "*.gmi lang=fr mime=text/plain\n")
    write(root / "sub" / ".meta", "*.gmi lang=de\n")
    index = MetaIndex(root)
    assert index.lookup("/sub/deep/c.gmi") == Meta(mime="text/plain; charset=utf-8", lang="de")
    assert index.lookup("/a.gmi").lang == "fr"


def test_later_line_wins_within_a_file(root: Path) -> None:
    write(root / ".meta", "*.gmi lang=fr\na.gmi lang=it\n*.gmi lang=es\nsub/* lang=pt\n")
    index = MetaIndex(root)
    assert index.lookup("/a.gmi").lang == "es"
    assert index.lookup("/sub/b.gmi").lang == "pt"


def test_nearer_redirect_replaces_farther_gone(root: Path) -> None:
    write(root / ".meta", "sub/* gone\n")
    write(root / "sub" / ".meta", "b.gmi redirect-temporary=/a.gmi\n")
    index = MetaIndex(root)
    assert index.lookup("/sub/b.gmi") == Meta(redirect="/a.gmi", permanent=False)
    assert index.lookup("/sub/deep/c.gmi").gone


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.gmi", "/a.gmi", True),
        ("*.gmi", "/sub/deep/c.gmi", True),
        ("*.gmi", "/notes.txt", False),
        ("*.GMI", "/a.gmi", False),
        ("data/*.csv", "/data/x.csv", True),
        ("data/*.csv", "/x.csv", False),
        ("?.gmi", "/a.gmi", True),
        ("[ab].gmi", "/a.gmi", True),
        ("[!a].gmi", "/a.gmi", False),
        ("sub/", "/sub/", True),
        ("sub/", "/sub/b.gmi", False),
        ("sub/*", "/sub/b.gmi", True),
        ("*/", "/sub/", True),
        ("*/", "/", False),
        ("/", "/", True),
        ("/", "/sub/", False),
        ("*", "/", True),
        ("a.gmi", "/sub/a.gmi", False),
    ],
)
def test_glob_patterns_match_paths_relative_to_the_meta_file(
    root: Path, pattern: str, path: str, matches: bool
) -> None:
    write(root / ".meta", f"{pattern} lang=fr\n")
    assert (MetaIndex(root).lookup(path).lang == "fr") is matches


def test_patterns_are_relative_to_their_own_directory(root: Path) -> None:
    write(root / "sub" / ".meta", "b.gmi lang=de\n/ listing\n")
    index = MetaIndex(root)
    assert index.lookup("/sub/b.gmi").lang == "de"
    assert index.lookup("/b.gmi").lang is None
    assert index.lookup("/sub/").listing
    assert not index.lookup("/sub/deep/").listing


def test_edited_meta_file_applies_on_next_lookup(root: Path) -> None:
    meta = write(root / ".meta", "a.gmi lang=fr\n")
    index = MetaIndex(root)
    assert index.lookup("/a.gmi").lang == "fr"
    rewrite(meta, "a.gmi lang=de\n")
    assert index.lookup("/a.gmi").lang == "de"


def test_deleted_meta_file_stops_applying(root: Path) -> None:
    meta = write(root / "sub" / ".meta", "* gone\n")
    index = MetaIndex(root)
    assert index.lookup("/sub/b.gmi").gone
    meta.unlink()
    assert index.lookup("/sub/b.gmi") == Meta()


def test_meta_file_reached_through_a_symlink_out_of_the_root_is_ignored(
    root: Path, tmp_path: Path
) -> None:
    write(tmp_path / "outside" / ".meta", "* gone\n")
    (root / "link").symlink_to(tmp_path / "outside")
    assert MetaIndex(root).lookup("/link/x.gmi") == Meta()


def test_bad_lines_are_logged_once_per_version(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(root / ".meta", "*.gmi lang=fr\nx.gmi bogus\n")
    index = MetaIndex(root)
    index.lookup("/a.gmi")
    index.lookup("/a.gmi")
    assert [record.getMessage() for record in caplog.records] == [
        "/.meta:2: unknown key 'bogus'; line ignored"
    ]


def test_check_meta_files_reports_every_file(root: Path) -> None:
    write(root / ".meta", "ok.gmi gone\nbad.gmi\n")
    write(root / "sub" / "deep" / ".meta", "x colour=red\n")
    assert check_meta_files(root) == [
        MetaWarning("/.meta", 2, "no settings after pattern 'bad.gmi'"),
        MetaWarning("/sub/deep/.meta", 1, "unknown key 'colour'"),
    ]


def test_check_meta_files_reads_only_directories_the_capsule_serves(root: Path) -> None:
    write(root / ".git" / ".meta", "x colour=red\n")
    write(root / ".well-known" / ".meta", "x shade=blue\n")
    assert check_meta_files(root) == [
        MetaWarning("/.well-known/.meta", 1, "unknown key 'shade'"),
    ]


# Resolving with metadata


@pytest.fixture
def capsule(root: Path) -> Capsule:
    return Capsule(root, lang="en")


def test_gone_file_is_gone_even_though_it_exists(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "a.gmi gone\n")
    assert capsule.resolve("/a.gmi") == Gone()


def test_gone_applies_to_files_that_no_longer_exist(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "removed/* gone\nold.gmi gone\n")
    assert capsule.resolve("/old.gmi") == Gone()
    assert capsule.resolve("/removed/2019/post.gmi") == Gone()


def test_redirect_comes_before_the_disk(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "a.gmi redirect=/sub/b.gmi\n")
    assert capsule.resolve("/a.gmi") == Redirect("/sub/b.gmi", permanent=True)


def test_temporary_redirect_of_a_directory(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "sub/ redirect-temporary=gemini://example.org/sub/\n")
    assert capsule.resolve("/sub/") == Redirect("gemini://example.org/sub/", permanent=False)
    assert capsule.resolve("/sub/b.gmi") == Page("# page\n", "en")


def test_mime_override_for_a_file(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "notes.txt mime=text/markdown\n")
    resource = capsule.resolve("/notes.txt")
    assert isinstance(resource, File)
    assert resource.mime == "text/markdown; charset=utf-8"


def test_gemtext_file_given_another_mime_is_a_file(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "a.gmi mime=text/plain\n")
    resource = capsule.resolve("/a.gmi")
    assert isinstance(resource, File)
    assert resource.mime == "text/plain; charset=utf-8"


def test_file_given_the_gemtext_mime_is_a_page(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "notes.txt mime=text/gemini lang=fr\n")
    assert capsule.resolve("/notes.txt") == Page("# page\n", "fr")


def test_lang_override_for_a_page(root: Path, capsule: Capsule) -> None:
    write(root / "sub" / ".meta", "*.gmi lang=de\n")
    assert capsule.resolve("/sub/b.gmi") == Page("# page\n", "de")
    assert capsule.resolve("/a.gmi") == Page("# page\n", "en")


def test_lang_does_not_touch_files(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "* lang=de\n")
    assert isinstance(capsule.resolve("/notes.txt"), File)


@pytest.mark.parametrize("rule", ["sub/index.gmi lang=de", "sub/ lang=de", "*.gmi lang=de"])
def test_index_page_takes_the_rules_of_its_file_or_its_directory(
    root: Path, capsule: Capsule, rule: str
) -> None:
    write(root / ".meta", f"{rule}\n")
    assert capsule.resolve("/sub/") == Page("# page\n", "de")


def test_meta_file_is_never_served(root: Path, capsule: Capsule) -> None:
    write(root / "sub" / ".meta", "* lang=de\n")
    for path in ("/.meta", "/sub/.meta"):
        resource = capsule.resolve(path)
        assert isinstance(resource, NotFound)
        assert response_header(resource).status == 51


def test_gone_rule_cannot_reveal_a_meta_file(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "* redirect=/a.gmi\n")
    assert isinstance(capsule.resolve("/.meta"), NotFound)


def test_edit_to_meta_applies_on_next_resolve(root: Path, capsule: Capsule) -> None:
    meta = write(root / ".meta", "a.gmi lang=fr\n")
    assert capsule.resolve("/a.gmi") == Page("# page\n", "fr")
    rewrite(meta, "a.gmi gone\n")
    assert capsule.resolve("/a.gmi") == Gone()


def test_bad_line_does_not_stop_the_good_ones(root: Path, capsule: Capsule) -> None:
    write(root / ".meta", "a.gmi lang=fr\na.gmi redirect=nowhere\nx.csv gone\n")
    assert capsule.resolve("/a.gmi") == Page("# page\n", "fr")
    assert capsule.resolve("/x.csv") == Gone()


def test_operator_redirect_comes_before_meta(root: Path) -> None:
    write(root / ".meta", "a.gmi gone\n")
    access = AccessPolicy(MetaIndex(root), redirects=(RedirectRule("/a.gmi", "/sub/b.gmi"),))
    capsule = Capsule(root, "en", access=access)
    assert capsule.resolve("/a.gmi") == Redirect("/sub/b.gmi", permanent=True)


def published(root: Path, tmp_path: Path) -> Capsule:
    write(root / "2026" / "11" / "20" / "first.gmi", "# First\n")
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    return Capsule(root, "en", Publication(catalog, PublicationSettings("News"), "en"))


def test_rules_apply_to_generated_pages_too(root: Path, tmp_path: Path) -> None:
    write(root / ".meta", "archive/ lang=fr\nfeed.gmi gone\n")
    capsule = published(root, tmp_path)
    archive = capsule.resolve("/archive/")
    assert isinstance(archive, Page) and archive.lang == "fr"
    assert capsule.resolve("/feed.gmi") == Gone()
