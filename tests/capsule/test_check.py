"""Checking a capsule root: broken internal links, malformed gemtext, symlinks leaving the root."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from capsule.check import CheckReport, Problem, check_capsule
from capsule.root import Capsule


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        file = root / name
        file.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            file.write_bytes(content)
        else:
            file.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write(
        tmp_path / "root",
        {
            "index.gmi": "# Home\n",
            "page.gmi": "# Page\n",
            "my page.gmi": "# A name with a space\n",
            "image.png": b"\x89PNG",
            "dir/index.gmi": "# Dir\n",
            "dir/page.gmi": "# Dir page\n",
            "dir/sub/leaf.gmi": "# Leaf\n",
            "empty/notes.txt": "no index here",
            ".well-known/security.txt": f"Contact: mailto:a@example.org\nExpires: {in_days(180)}\n",
            ".hidden.gmi": "# Never served\n",
        },
    )


def in_days(days: int) -> str:
    """An RFC 3339 time `days` from now (negative: in the past)."""
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def link_from(root: Path, page: str, target: str) -> CheckReport:
    """Check a capsule where `page` holds a single link (on line 2) to `target`."""
    write(root, {page: f"# Links\n=> {target} label\n"})
    return check_capsule(root)


def test_valid_capsule_has_no_problems(root: Path) -> None:
    write(root, {"index.gmi": "# Home\n=> page.gmi Page\n=> dir/ Dir\n=> image.png Picture\n"})
    assert check_capsule(root).problems == ()


@pytest.mark.parametrize(
    ("page", "target"),
    [
        ("index.gmi", "page.gmi"),
        ("index.gmi", "./page.gmi"),
        ("index.gmi", "/page.gmi"),
        ("index.gmi", "dir/page.gmi"),
        ("index.gmi", "/dir/sub/leaf.gmi"),
        ("index.gmi", "image.png"),
        ("index.gmi", "/"),
        ("index.gmi", "."),
        ("dir/page.gmi", "../page.gmi"),
        ("dir/page.gmi", ".."),
        ("dir/page.gmi", "sub/leaf.gmi"),
        ("dir/sub/leaf.gmi", "../../dir/page.gmi"),
        ("dir/sub/leaf.gmi", "/dir//page.gmi"),
        ("index.gmi", "/.well-known/security.txt"),
    ],
)
def test_internal_link_to_existing_file_is_fine(root: Path, page: str, target: str) -> None:
    assert link_from(root, page, target).problems == ()


@pytest.mark.parametrize("target", ["dir/", "/dir/", "dir", "/dir"])
def test_link_to_directory_with_index_is_fine(root: Path, target: str) -> None:
    assert link_from(root, "index.gmi", target).problems == ()


@pytest.mark.parametrize("target", ["empty/", "/empty"])
def test_link_to_directory_without_index_is_broken(root: Path, target: str) -> None:
    assert link_from(root, "index.gmi", target).problems == (
        Problem("error", "index.gmi", 2, f"broken link to {target} (directory has no index.gmi)"),
    )


def test_link_to_a_protected_directory_listing_is_fine(root: Path) -> None:
    write(root, {"empty/.meta": "/ listing protect=any\n"})
    assert link_from(root, "index.gmi", "empty/").problems == ()


@pytest.mark.parametrize(
    ("page", "target"),
    [
        ("index.gmi", "missing.gmi"),
        ("index.gmi", "dir/missing.gmi"),
        ("dir/page.gmi", "index.gmi/"),
        ("dir/page.gmi", "leaf.gmi"),
        ("dir/sub/leaf.gmi", "../missing/"),
    ],
)
def test_broken_relative_link_is_an_error(root: Path, page: str, target: str) -> None:
    assert link_from(root, page, target).problems == (
        Problem("error", page, 2, f"broken link to {target}"),
    )


@pytest.mark.parametrize("target", ["/missing.gmi", "/dir/sub/missing.gmi", "/page.gmi/"])
def test_broken_absolute_link_is_an_error(root: Path, target: str) -> None:
    assert link_from(root, "dir/page.gmi", target).problems == (
        Problem("error", "dir/page.gmi", 2, f"broken link to {target}"),
    )


@pytest.mark.parametrize("target", ["/.hidden.gmi", ".hidden.gmi"])
def test_link_to_dotfile_is_broken_because_dotfiles_are_never_served(
    root: Path, target: str
) -> None:
    assert link_from(root, "index.gmi", target).errors == (
        Problem("error", "index.gmi", 2, f"broken link to {target}"),
    )


@pytest.mark.parametrize(
    "target", ["my%20page.gmi", "/my%20page.gmi", "%70age.gmi", "dir%2Fpage.gmi"]
)
def test_percent_encoded_link_is_decoded_before_lookup(root: Path, target: str) -> None:
    assert link_from(root, "index.gmi", target).problems == ()


def test_link_with_invalid_percent_encoding_is_broken(root: Path) -> None:
    assert link_from(root, "index.gmi", "%ff.gmi").problems == (
        Problem("error", "index.gmi", 2, "broken link to %ff.gmi (bad percent-encoding)"),
    )


@pytest.mark.parametrize(
    "target", ["page.gmi?q=1", "page.gmi#part", "/dir/?q", "dir/#top", "#top", "?only-a-query"]
)
def test_query_and_fragment_are_ignored(root: Path, target: str) -> None:
    assert link_from(root, "index.gmi", target).problems == ()


def test_query_does_not_rescue_a_missing_path(root: Path) -> None:
    assert link_from(root, "index.gmi", "missing.gmi?q=1#x").errors == (
        Problem("error", "index.gmi", 2, "broken link to missing.gmi?q=1#x"),
    )


@pytest.mark.parametrize(
    ("page", "target"),
    [
        ("index.gmi", "../x.gmi"),
        ("index.gmi", ".."),
        ("index.gmi", "/../index.gmi"),
        ("dir/page.gmi", "../../x"),
        ("dir/sub/leaf.gmi", "../../../index.gmi"),
        ("index.gmi", "%2e%2e/x.gmi"),
    ],
)
def test_link_climbing_above_the_root_is_an_error(root: Path, page: str, target: str) -> None:
    assert link_from(root, page, target).problems == (
        Problem("error", page, 2, f"link to {target} climbs above the root"),
    )


@pytest.mark.parametrize(
    "target",
    [
        "gemini://other.host/missing.gmi",
        "gemini://localhost/missing.gmi",
        "//other.host/missing.gmi",
        "https://example.org/missing.html",
        "mailto:someone@example.org",
    ],
)
def test_links_with_a_scheme_or_host_are_external_and_ignored(root: Path, target: str) -> None:
    assert link_from(root, "index.gmi", target).problems == ()


GENERATED = [
    "/archive/",
    "/archive/2024/",
    "/archive/2024/05/",
    "/feed.gmi",
    "/atom.xml",
    "/search",
    "/search?garden",
]


@pytest.mark.parametrize("target", GENERATED)
def test_generated_paths_resolve_when_enabled(root: Path, target: str) -> None:
    write(root, {"2024-05-01-spring.gmi": "# Spring\n"})
    assert link_from(root, "index.gmi", target).problems == ()


@pytest.mark.parametrize("target", GENERATED)
def test_generated_paths_are_broken_when_disabled(root: Path, target: str) -> None:
    write(root, {"2024-05-01-spring.gmi": "# Spring\n", "index.gmi": f"# Home\n=> {target}\n"})
    assert check_capsule(root, generated_paths=False).problems == (
        Problem("error", "index.gmi", 2, f"broken link to {target}"),
    )


@pytest.mark.parametrize("target", ["/archive/2023/", "/archive/2024/06/", "/archive", "/search/"])
def test_generated_path_that_the_publication_would_not_answer_is_broken(
    root: Path, target: str
) -> None:
    write(root, {"2024/05/01/spring.gmi": "# Spring\n"})
    assert link_from(root, "index.gmi", target).problems == (
        Problem("error", "index.gmi", 2, f"broken link to {target}"),
    )


def test_file_on_disk_at_a_generated_path_resolves_when_disabled(root: Path) -> None:
    write(root, {"feed.gmi": "# Hand-made feed\n", "index.gmi": "=> /feed.gmi\n"})
    assert check_capsule(root, generated_paths=False).problems == ()


def test_invalid_utf8_is_reported_on_the_line_of_the_first_bad_byte(root: Path) -> None:
    write(root, {"bad.gmi": b"# Title\n\nfine\nbad \xff here\nalso \xfe bad\n"})
    assert check_capsule(root).problems == (
        Problem("error", "bad.gmi", 4, "not valid UTF-8 (byte 0xff)"),
    )


def test_links_of_an_invalid_utf8_file_are_still_checked(root: Path) -> None:
    write(root, {"bad.gmi": b"caf\xe9\n=> missing.gmi\n"})
    assert [(p.line, p.message) for p in check_capsule(root).problems] == [
        (1, "not valid UTF-8 (byte 0xe9)"),
        (2, "broken link to missing.gmi"),
    ]


def test_leading_byte_order_mark_is_a_warning(root: Path) -> None:
    write(root, {"bom.gmi": "\ufeff# Title\n=> page.gmi\n"})
    assert check_capsule(root).problems == (
        Problem("warning", "bom.gmi", 1, "starts with a byte order mark"),
    )


def test_link_on_the_first_line_after_a_byte_order_mark_is_checked(root: Path) -> None:
    write(root, {"bom.gmi": "\ufeff=> missing.gmi\n"})
    assert check_capsule(root).errors == (
        Problem("error", "bom.gmi", 1, "broken link to missing.gmi"),
    )


def test_unclosed_preformatted_block_is_a_warning_at_its_opening_line(root: Path) -> None:
    write(root, {"code.gmi": "# Code\n```python\nx = 1\n```\n\n```\nnever closed\n"})
    assert check_capsule(root).problems == (
        Problem("warning", "code.gmi", 6, "preformatted block is never closed"),
    )


def test_links_inside_a_preformatted_block_are_not_links(root: Path) -> None:
    write(root, {"code.gmi": "```\n=> missing.gmi\n```\n"})
    assert check_capsule(root).problems == ()


@pytest.mark.parametrize("line", ["=>", "=>   ", "=>\t"])
def test_empty_link_line_is_a_warning(root: Path, line: str) -> None:
    write(root, {"empty.gmi": f"# Title\n{line}\n"})
    assert check_capsule(root).problems == (Problem("warning", "empty.gmi", 2, "empty link line"),)


def test_line_numbers_count_every_line_including_blank_and_preformatted(root: Path) -> None:
    source = "# T\n\n```\n=> ignored\n```\n* item\r\n=> one.gmi\r\n\n> quote\n=> two.gmi label\n"
    write(root, {"lines.gmi": source})
    assert [(p.line, p.message) for p in check_capsule(root).problems] == [
        (7, "broken link to one.gmi"),
        (10, "broken link to two.gmi"),
    ]


@pytest.mark.parametrize(("name", "inside"), [("outside.gmi", "secret.gmi"), ("outside", "")])
def test_symlink_pointing_outside_the_root_is_an_error(
    root: Path, tmp_path: Path, name: str, inside: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere, {"secret.gmi": "=> missing.gmi\n"})
    target = (elsewhere / inside).resolve()
    (root / name).symlink_to(target)
    assert check_capsule(root).problems == (
        Problem("error", name, None, f"symlink points outside the root, to {target}"),
    )


def test_dangling_symlink_is_an_error(root: Path) -> None:
    (root / "gone.gmi").symlink_to(root / "nothing-here.gmi")
    (problem,) = check_capsule(root).problems
    assert (problem.severity, problem.path, problem.line) == ("error", "gone.gmi", None)
    assert problem.message.startswith("broken symlink")


def test_links_through_a_symlink_inside_the_root_resolve(root: Path) -> None:
    (root / "alias").symlink_to(root / "dir")
    (root / "alias.gmi").symlink_to(root / "page.gmi")
    write(root, {"index.gmi": "=> alias/page.gmi\n=> alias/\n=> alias.gmi\n"})
    assert check_capsule(root).problems == ()


def test_symlinked_directory_is_not_walked(root: Path) -> None:
    (root / "alias").symlink_to(root / "dir")
    assert check_capsule(root).files_checked == 6


def test_dotfiles_and_dot_directories_are_not_checked(root: Path) -> None:
    write(root, {".drafts/draft.gmi": "=> missing.gmi\n", ".hidden.gmi": "=> missing.gmi\n"})
    report = check_capsule(root)
    assert (report.problems, report.files_checked) == ((), 6)


def test_unreadable_file_is_an_error(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root reads files whatever their mode, so the refusal is made by the opener.
    real_open = open

    def refusing_open(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(root / "page.gmi"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", refusing_open)
    (problem,) = check_capsule(root).problems
    assert (problem.severity, problem.path, problem.line) == ("error", "page.gmi", None)


def test_each_missing_target_is_looked_up_once(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(root, {f"p{i}.gmi": "=> /missing.gmi\n=> /dir/page.gmi\n" for i in range(20)})
    calls: list[str] = []
    resolve = Capsule.resolve

    def counting(self: Capsule, path: str, query: str | None = None) -> object:
        calls.append(path)
        return resolve(self, path, query)

    monkeypatch.setattr(Capsule, "resolve", counting)
    assert len(check_capsule(root).errors) == 20
    assert calls == ["/missing.gmi"]


def test_problems_are_sorted_by_path_then_line(root: Path) -> None:
    write(
        root,
        {
            "b.gmi": "=> x\n=> y\n",
            "a/z.gmi": "\n\n=> late\n",
            "a.gmi": "=> q\n\n\n\n\n\n\n\n\n\n=> r\n",
        },
    )
    assert [(p.path, p.line) for p in check_capsule(root).problems] == [
        ("a.gmi", 1),
        ("a.gmi", 11),
        ("a/z.gmi", 3),
        ("b.gmi", 1),
        ("b.gmi", 2),
    ]


def test_errors_and_warnings_are_split_by_severity(root: Path) -> None:
    write(root, {"mixed.gmi": "=>\n=> missing.gmi\n```\n"})
    report = check_capsule(root)
    assert [p.line for p in report.errors] == [2]
    assert [p.line for p in report.warnings] == [1, 3]


def test_format_lists_each_problem_then_a_summary(tmp_path: Path) -> None:
    root = write(
        tmp_path / "small",
        {
            "index.gmi": "# Home\n=> about.gmi About\n",
            "about.gmi": "\ufeff# About\n\n=> /missing.gmi\n=> ../up.gmi\n",
        },
    )
    assert check_capsule(root).format() == (
        "about.gmi:1: warning: starts with a byte order mark\n"
        "about.gmi:3: error: broken link to /missing.gmi\n"
        "about.gmi:4: error: link to ../up.gmi climbs above the root\n"
        "2 files checked, 2 errors, 1 warning"
    )


def test_format_of_a_problem_without_a_line_omits_it() -> None:
    problem = Problem("error", "gone.gmi", None, "broken symlink: No such file or directory")
    assert problem.format() == "gone.gmi: error: broken symlink: No such file or directory"


def test_format_of_a_clean_capsule_is_only_the_summary(tmp_path: Path) -> None:
    root = write(tmp_path / "clean", {"index.gmi": "# Home\n"})
    assert check_capsule(root).format() == "1 file checked, 0 errors, 0 warnings"


def test_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        check_capsule(tmp_path / "nowhere")


def security_txt(root: Path, text: str) -> list[str]:
    """The problems `capsule check` reports, formatted, with `text` as the security.txt."""
    write(root, {".well-known/security.txt": text})
    return [problem.format() for problem in check_capsule(root).problems]


def test_security_txt_without_contact_is_a_warning(root: Path) -> None:
    assert security_txt(root, f"Expires: {in_days(30)}\n") == [
        ".well-known/security.txt: warning: no Contact field, e.g. "
        "Contact: mailto:security@example.org"
    ]


def test_security_txt_without_expires_is_a_warning(root: Path) -> None:
    assert security_txt(root, "Contact: mailto:a@example.org\n") == [
        ".well-known/security.txt: warning: no Expires field, e.g. Expires: 2030-12-31T23:59:59Z"
    ]


def test_security_txt_expired_is_a_warning_on_its_line(root: Path) -> None:
    past = in_days(-1)
    text = f"# Our policy\nContact: mailto:a@example.org\nExpires: {past}\n"
    assert security_txt(root, text) == [
        f".well-known/security.txt:3: warning: Expires {past} has passed: readers ignore an "
        "expired security.txt"
    ]


def test_security_txt_problems_are_warnings_that_do_not_fail_the_check(root: Path) -> None:
    write(root, {".well-known/security.txt": "Expires: 1999-01-01T00:00:00Z\n"})
    report = check_capsule(root)
    assert report.errors == ()
    assert len(report.warnings) == 2


def test_no_security_txt_is_not_a_problem(root: Path) -> None:
    (root / ".well-known" / "security.txt").unlink()
    assert check_capsule(root).problems == ()


def test_security_txt_at_the_top_of_the_root_is_not_read(root: Path) -> None:
    # RFC 9116 publishes it under /.well-known/; the top-level file is a legacy place.
    write(root, {"security.txt": "nothing useful\n"})
    assert check_capsule(root).problems == ()


def test_front_lines_that_cannot_be_read_are_errors_with_their_line(root: Path) -> None:
    write(root, {
        "draft.gmi": "Status: draft\n# Draft\n=> /page.gmi Page\n",
        "typo.gmi": "Status: drfat\nPublished: friday noon\n# Typo\n",
    })
    report = check_capsule(root)
    assert [problem.format() for problem in report.problems] == [
        "typo.gmi:1: error: unknown status 'drfat' (draft or published); held back as a draft "
        "until it is fixed",
        "typo.gmi:2: error: 'friday noon' is not a date or a time such as 2026-11-25T08:00:00Z; "
        "held back until it is fixed",
    ]


def test_links_to_drafts_and_articles_not_published_yet_are_not_broken(root: Path) -> None:
    write(root, {
        "2099/01/01/later.gmi": "# Later\n",
        "soon.gmi": "Status: draft\n# Soon\n",
        "links.gmi": "# Links\n=> /2099/01/01/later.gmi Later\n=> soon.gmi Soon\n",
    })
    assert check_capsule(root).problems == ()


def test_recent_markers_past_the_page_size_limit_are_a_warning(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        f"2026/02/{day:02d}/story.gmi": f"# Story of day {day}\n" for day in range(1, 29)
    }
    files["index.gmi"] = "# Home\n{{recent 2}}\n" + "{{recent 9999}}\n" * 50
    root = write(tmp_path / "root", files)
    report = check_capsule(root, max_page_bytes=4096)
    lines = [problem.line for problem in report.warnings if problem.path == "index.gmi"]
    assert lines and lines[0] > 3 and not report.errors
    assert "max_page_bytes (4096 bytes)" in report.warnings[0].message
    assert not check_capsule(root).warnings  # no limit, nothing left
