"""Rules hold for what is read: a symlink is judged on its own path and on the path of the file
it leads to, by requests and lists alike; a `.meta` file that cannot be read refuses."""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capsule.catalog.store import Catalog
from capsule.check import check_capsule
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import (
    CertificateNotAuthorised,
    CertificateRequired,
    File,
    Gone,
    NotFound,
    Page,
)
from capsule.root import Capsule
from capsule.rules.access import NO_CERTIFICATE, ClientIdentity, Protection
from capsule.rules.meta import MetaIndex
from capsule.rules.policy import AccessPolicy
from capsule.rules.upload_policy import UploadPolicy, UploadRule, UploadsClosed

NOW = datetime(2026, 6, 1, tzinfo=UTC)
STAFF = "5" * 64
AUTHOR = "a" * 64


def identity(fingerprint: str) -> ClientIdentity:
    return ClientIdentity(
        fingerprint, datetime(2020, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
    )


def write(root: Path, path: str, text: str) -> Path:
    file = root / path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    return file


def link(root: Path, path: str, target: str) -> None:
    place = root / path.lstrip("/")
    place.parent.mkdir(parents=True, exist_ok=True)
    place.symlink_to(target)


def capsule_of(root: Path, tmp_path: Path) -> Capsule:
    catalog = Catalog(root, tmp_path / "catalog.sqlite")
    access = AccessPolicy(
        MetaIndex(root), staff=Protection(frozenset({STAFF})), clock=lambda: NOW
    )
    publication = Publication(catalog, PublicationSettings(), None, access)
    catalog.refresh()
    return Capsule(root, publication=publication)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write(root, "/.meta", "members/ protect=any\ndrafts/ draft\nlater/* published=2999-01-01\n"
          "old/* gone\npub/ listing\n")
    write(root, "/members/2026-01-02-secret.gmi", "# Secret\nswordfish\n")
    write(root, "/drafts/2026-01-02-plan.gmi", "# Plan\nmarlin\n")
    write(root, "/later/2026-01-02-soon.gmi", "# Soon\nhalibut\n")
    write(root, "/old/2026-01-02-gone.gmi", "# Gone\nsturgeon\n")
    write(root, "/open/2026-01-02-open.gmi", "# Open\nsalmon\n")
    link(root, "/pub/2026-01-03-secret.gmi", "../members/2026-01-02-secret.gmi")
    link(root, "/pub/2026-01-03-plan.gmi", "../drafts/2026-01-02-plan.gmi")
    link(root, "/pub/2026-01-03-soon.gmi", "../later/2026-01-02-soon.gmi")
    link(root, "/pub/2026-01-03-gone.gmi", "../old/2026-01-02-gone.gmi")
    link(root, "/pub/2026-01-03-open.gmi", "../open/2026-01-02-open.gmi")
    link(root, "/pub/2999-01-01-open.gmi", "../open/2026-01-02-open.gmi")
    link(root, "/pub/mdir", "../members")
    return root


# Requests


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/pub/2026-01-03-secret.gmi", CertificateRequired),
        ("/pub/mdir/2026-01-02-secret.gmi", CertificateRequired),
        ("/pub/mdir/", CertificateRequired),
        ("/pub/mdir", CertificateRequired),
        ("/pub/2026-01-03-plan.gmi", CertificateRequired),
        ("/pub/2026-01-03-soon.gmi", NotFound),
        ("/pub/2026-01-03-gone.gmi", Gone),
        ("/pub/2999-01-01-open.gmi", NotFound),
        ("/pub/2026-01-03-open.gmi", Page),
    ],
)
def test_a_symlink_answers_what_the_rules_of_both_its_paths_allow(
    root: Path, tmp_path: Path, path: str, answer: type
) -> None:
    assert isinstance(capsule_of(root, tmp_path).resolve(path), answer)


def test_a_symlinked_index_page_is_judged_where_it_leads(root: Path, tmp_path: Path) -> None:
    link(root, "/open/index.gmi", "../members/2026-01-02-secret.gmi")
    assert isinstance(capsule_of(root, tmp_path).resolve("/open/"), CertificateRequired)


def test_the_staff_see_drafts_and_early_pages_through_symlinks(
    root: Path, tmp_path: Path
) -> None:
    capsule = capsule_of(root, tmp_path)
    staff = identity(STAFF)
    assert isinstance(capsule.resolve("/pub/2026-01-03-plan.gmi", None, staff), Page)
    assert isinstance(capsule.resolve("/pub/2026-01-03-soon.gmi", None, staff), Page)
    assert isinstance(
        capsule.resolve("/pub/2026-01-03-secret.gmi", None, identity(AUTHOR)), Page
    )


def test_a_link_to_a_narrower_protection_admits_only_what_both_admit(
    root: Path, tmp_path: Path
) -> None:
    write(root, "/board/.meta", f"/ protect=sha256:{STAFF}\n")
    write(root, "/board/minutes.gmi", "# Minutes\n")
    link(root, "/members/minutes.gmi", "../board/minutes.gmi")
    capsule = capsule_of(root, tmp_path)
    refused = capsule.resolve("/members/minutes.gmi", None, identity(AUTHOR))
    assert isinstance(refused, CertificateNotAuthorised)
    assert isinstance(capsule.resolve("/members/minutes.gmi", None, identity(STAFF)), Page)


# Lists


def test_no_list_shows_what_a_symlink_leads_to_when_its_rules_hide_it(
    root: Path, tmp_path: Path
) -> None:
    capsule = capsule_of(root, tmp_path)
    assert capsule.publication is not None
    listed = [article.path for article in capsule.publication.articles()]
    assert "/pub/2026-01-03-open.gmi" in listed
    for hidden in ("secret", "plan", "soon", "gone"):
        assert f"/pub/2026-01-03-{hidden}.gmi" not in listed
        assert capsule.withheld(f"/pub/2026-01-03-{hidden}.gmi")
    assert "/pub/2999-01-01-open.gmi" not in listed
    assert capsule.withheld("/pub/mdir/")
    listing = capsule.resolve("/pub/")
    assert isinstance(listing, Page)
    assert "2026-01-03-open.gmi" in listing.gemtext
    assert "secret" not in listing.gemtext and "mdir" not in listing.gemtext
    for word in ("swordfish", "marlin", "halibut", "sturgeon"):
        page = capsule.resolve("/search", word)
        assert isinstance(page, Page) and "=> /pub" not in page.gemtext, word
    assert "=> /pub/2026-01-03-open.gmi" in capsule.resolve("/search", "salmon").gemtext  # type: ignore[union-attr]


def test_a_retargeted_symlink_is_judged_again_by_the_lists(root: Path, tmp_path: Path) -> None:
    capsule = capsule_of(root, tmp_path)
    assert capsule.publication is not None
    leak = root / "pub" / "2026-01-03-open.gmi"
    leak.unlink()
    leak.symlink_to("../members/2026-01-02-secret.gmi")
    capsule.publication.catalog.refresh()
    assert "/pub/2026-01-03-open.gmi" not in [a.path for a in capsule.publication.articles()]


def test_capsule_check_reports_symlinks_under_other_rules_than_their_targets(root: Path) -> None:
    report = check_capsule(root)
    flagged = {problem.path for problem in report.warnings if "other rules" in problem.message}
    assert flagged >= {
        "pub/2026-01-03-secret.gmi", "pub/2026-01-03-plan.gmi", "pub/2026-01-03-soon.gmi",
        "pub/2026-01-03-gone.gmi", "pub/mdir", "pub/2999-01-01-open.gmi",
    }
    # Its own date against the target's: published a day later than the page it leads to.
    assert "pub/2026-01-03-open.gmi" in flagged


# Titan grants


def test_an_upload_grant_must_cover_the_file_written_too() -> None:
    policy = UploadPolicy((UploadRule(("notes/",), frozenset({AUTHOR}), allow_delete=True),))
    author = identity(AUTHOR)
    assert isinstance(policy.decide("/notes/a.gmi", author, NOW, "/notes/a.gmi"), UploadRule)
    assert isinstance(policy.decide("/notes/a.gmi", author, NOW, "/members/a.gmi"), UploadsClosed)
    assert isinstance(policy.decide("/members/a.gmi", author, NOW, "/notes/a.gmi"), UploadsClosed)


def test_the_narrower_upload_limits_of_both_paths_apply() -> None:
    policy = UploadPolicy((
        UploadRule(("notes/",), frozenset({AUTHOR}), max_bytes=100, allow_delete=True),
        UploadRule(("drafts/",), frozenset({AUTHOR}), max_bytes=10),
    ))
    rule = policy.decide("/notes/a.gmi", identity(AUTHOR), NOW, "/drafts/a.gmi")
    assert isinstance(rule, UploadRule)
    assert (rule.max_bytes, rule.allow_delete) == (10, False)


# A `.meta` that cannot be read


def unreadable(meta: Path, shape: str) -> None:
    """Make `meta` unreadable in one of the ways a server running as root still fails on."""
    if meta.exists() or meta.is_symlink():
        meta.unlink()
    if shape == "directory":
        meta.mkdir()
    elif shape == "loop":
        meta.symlink_to(meta.name)
    elif shape == "dangling":
        meta.symlink_to("nowhere")
    elif shape == "fifo":
        os.mkfifo(meta)
    elif shape == "unpermitted":
        meta.write_text("members/ lang=fr\n")
        meta.chmod(0)


SHAPES = ["directory", "loop", "dangling", "fifo"] + (["unpermitted"] if os.geteuid() else [])
"""Root reads a file whatever its mode: the other shapes fail for root too."""


@pytest.mark.parametrize("shape", SHAPES)
def test_a_meta_file_never_read_closes_its_directory(tmp_path: Path, shape: str) -> None:
    write(tmp_path, "/sub/page.gmi", "# Page\n")
    unreadable(tmp_path / "sub" / ".meta", shape)
    index = MetaIndex(tmp_path)
    assert index.lookup("/sub/page.gmi").protect == NO_CERTIFICATE
    assert index.lookup("/sub/deep/page.gmi").protect == NO_CERTIFICATE
    assert index.lookup("/sub/").protect == NO_CERTIFICATE
    assert index.lookup("/other.gmi").protect is None


@pytest.mark.parametrize("shape", SHAPES)
def test_a_meta_file_that_becomes_unreadable_keeps_its_last_rules(
    tmp_path: Path, shape: str
) -> None:
    meta = write(tmp_path, "/.meta", "members/ protect=any\nlater.gmi published=2999-01-01\n")
    index = MetaIndex(tmp_path)
    before = index.lookup("/members/a.gmi"), index.lookup("/later.gmi")
    unreadable(meta, shape)
    assert (index.lookup("/members/a.gmi"), index.lookup("/later.gmi")) == before


def test_an_unreadable_meta_file_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unreadable(tmp_path / ".meta", "loop")
    index = MetaIndex(tmp_path)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            index.lookup("/a.gmi")
    assert [record.getMessage() for record in caplog.records] == [
        "/.meta: cannot read (Too many levels of symbolic links); its directory is closed "
        "to everybody until it can be read"
    ]


def test_a_meta_file_emptied_moments_ago_keeps_its_last_rules(tmp_path: Path) -> None:
    meta = write(tmp_path, "/.meta", "members/ protect=any\n")
    index = MetaIndex(tmp_path)
    assert index.lookup("/members/a.gmi").protect is not None
    meta.write_text("")  # truncated, as a save in place starts
    assert index.lookup("/members/a.gmi").protect is not None


def test_a_meta_file_emptied_long_ago_has_no_rules(tmp_path: Path) -> None:
    meta = write(tmp_path, "/.meta", "members/ protect=any\n")
    index = MetaIndex(tmp_path)
    assert index.lookup("/members/a.gmi").protect is not None
    meta.write_text("")
    os.utime(meta, (1_000_000_000, 1_000_000_000))
    assert index.lookup("/members/a.gmi").protect is None


def test_a_meta_file_changed_while_being_read_keeps_its_last_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = write(tmp_path, "/.meta", "members/ protect=any\n")
    index = MetaIndex(tmp_path)
    assert index.lookup("/members/a.gmi").protect is not None
    os.utime(meta, (1_000_000_000, 1_000_000_000))
    real_read = os.read
    appended = []

    def torn(descriptor: int, size: int) -> bytes:
        data = real_read(descriptor, size)
        if data and not appended:
            # The editor writes on while the server reads: a line it had not written yet.
            appended.append(True)
            with meta.open("a") as file:
                file.write("# more\n")
            return b"members/ lang=fr"
        return data

    monkeypatch.setattr(os, "read", torn)
    assert index.lookup("/members/a.gmi").protect is not None


def test_lists_leave_out_a_directory_whose_meta_cannot_be_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "/closed/2026-01-02-shut.gmi", "# Shut\ngrouper\n")
    write(root, "/2026-01-01-open.gmi", "# Open\n")
    unreadable(root / "closed" / ".meta", "directory")
    capsule = capsule_of(root, tmp_path)
    assert capsule.publication is not None
    assert [a.path for a in capsule.publication.articles()] == ["/2026-01-01-open.gmi"]
    assert "=> /closed" not in capsule.resolve("/search", "grouper").gemtext  # type: ignore[union-attr]
    assert isinstance(capsule.resolve("/closed/2026-01-02-shut.gmi"), CertificateRequired)


# Properties: whatever the rules and the links, a link never opens what its target's rules close

KINDS = {
    "open": "",
    "protect": "protect=any",
    "draft": "draft",
    "future": "published=2999-01-01",
    "gone": "gone",
    "unreadable": None,
}
PLACES = ("a", "b", "c")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries({place: st.sampled_from(sorted(KINDS)) for place in PLACES}),
    st.sampled_from(PLACES),
    st.sampled_from(PLACES),
    st.booleans(),
)
def test_a_link_never_serves_nor_lists_what_its_target_rules_refuse(
    kinds: dict[str, str], source: str, target: str, to_directory: bool
) -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "root"
        for place, kind in kinds.items():
            write(root, f"/{place}/2026-01-02-page.gmi", f"# Page in {place}\n")
            setting = KINDS[kind]
            if setting is None:
                unreadable(root / place / ".meta", "directory")
            elif setting:
                pattern = "/" if kind in ("protect", "draft") else "*"
                write(root, f"/{place}/.meta", f"{pattern} {setting}\n")
        if to_directory:
            link(root, f"/{source}/linked", f"../{target}")
            asked, real = f"/{source}/linked/2026-01-02-page.gmi", f"/{target}/2026-01-02-page.gmi"
        else:
            link(root, f"/{source}/2026-01-03-linked.gmi", f"../{target}/2026-01-02-page.gmi")
            asked, real = f"/{source}/2026-01-03-linked.gmi", f"/{target}/2026-01-02-page.gmi"
        capsule = capsule_of(root, Path(work))
        assert capsule.publication is not None
        listed = {article.path for article in capsule.publication.articles()}
        for reader in (None, identity(AUTHOR), identity(STAFF)):
            through = capsule.resolve(asked, None, reader)
            direct = capsule.resolve(real, None, reader)
            if isinstance(through, Page | File):
                assert isinstance(direct, Page | File), (asked, through, direct)
        if capsule.withheld(real) or real not in listed:
            assert asked not in listed and capsule.withheld(asked)
