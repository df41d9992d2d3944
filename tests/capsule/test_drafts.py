"""Drafts, by a front line or by `.meta`: served to the staff only, answered as protected pages
to everybody else, and never listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from capsule.catalog.store import Catalog, Changes
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import (
    CertificateNotAuthorised,
    CertificateNotValid,
    CertificateRequired,
    Feed,
    Page,
    Resource,
)
from capsule.root import Capsule
from capsule.rules.access import ClientIdentity, Protection, ProtectRule, ProtectRules
from capsule.rules.meta import MetaIndex
from capsule.rules.policy import AccessPolicy
from tests.capsule.rules.test_meta import rewrite
from tests.harness import write_page
from tests.identities import new_identity

STAFF = new_identity("editor")
OTHER_STAFF = new_identity("subeditor")
READER = new_identity("reader")
EXPIRED_STAFF = new_identity(
    "editor", datetime.now(UTC) - timedelta(days=30), datetime.now(UTC) - timedelta(days=1)
)
TEAM = Protection(
    frozenset({STAFF.fingerprint, OTHER_STAFF.fingerprint, EXPIRED_STAFF.fingerprint})
)

BUDGET = "/2026/11/22/budget.gmi"  # a draft by its front line
PLANS = "/drafts/2026/11/23/plans.gmi"  # a draft by .meta
PUBLIC = "/2026/11/20/gardens.gmi"
SECRETS = ("Budget", "budget.gmi", "Plans", "plans.gmi", "lighthouse")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Daily news\n\n{{recent}}\n")
    write_page(root, PUBLIC, "# Gardens\nAbout gardens and tea.\n")
    write_page(root, BUDGET, "Status: draft\n\n# Budget\nThe lighthouse budget, in gardens.\n")
    write_page(root, PLANS, "# Plans\nA lighthouse in the gardens.\n")
    write_page(root, "/notes/a.gmi", "# A note\n")
    write_page(root, "/notes/b.gmi", "Status: draft\n# Budget note\n")
    write_page(root, "/.meta", "drafts/ draft\nnotes/ listing\n")
    return root


def publish(
    root: Path, tmp_path: Path, staff: Protection = TEAM, configured: ProtectRules | None = None
) -> tuple[Capsule, Catalog]:
    catalog = Catalog(root, tmp_path / "state" / "index.sqlite3")
    catalog.refresh()
    access = AccessPolicy(MetaIndex(root), configured or ProtectRules(), staff=staff)
    settings = PublicationSettings("Daily news", recent_under_articles=5)
    publication = Publication(catalog, settings, None, access)
    return Capsule(root, publication=publication), catalog


@pytest.fixture
def capsule(root: Path, tmp_path: Path) -> Capsule:
    return publish(root, tmp_path)[0]


def text(capsule: Capsule, path: str, query: str | None = None) -> str:
    resource = capsule.resolve(path, query)
    assert isinstance(resource, Page), (path, resource)
    return resource.gemtext


def lists(capsule: Capsule) -> dict[str, str]:
    """Every list a reader sees, by name."""
    feed = capsule.resolve("/atom.xml")
    assert isinstance(feed, Feed)
    return {
        "archive": text(capsule, "/archive/"),
        "month": text(capsule, "/archive/2026/11/"),
        "gemfeed": text(capsule, "/feed.gmi"),
        "atom": "\n".join(f"{a.path} {a.title}" for a in feed.articles),
        "recent": text(capsule, "/"),
        "more articles": text(capsule, PUBLIC),
        "search": text(capsule, "/search", "gardens"),
        "directory listing": text(capsule, "/notes/"),
    }


@pytest.mark.parametrize("path", [BUDGET, PLANS])
def test_the_staff_get_a_draft(capsule: Capsule, path: str) -> None:
    for identity in (STAFF, OTHER_STAFF):
        assert isinstance(capsule.resolve(path, identity=identity), Page)


def test_a_draft_is_served_without_its_front_lines(capsule: Capsule) -> None:
    page = capsule.resolve(BUDGET, identity=STAFF)
    assert isinstance(page, Page)
    assert page.gemtext.startswith("# Budget\nThe lighthouse budget, in gardens.\n\n## More")


@pytest.mark.parametrize("path", [BUDGET, PLANS, "/drafts/", "/notes/b.gmi"])
@pytest.mark.parametrize(
    ("identity", "answer"),
    [
        (None, CertificateRequired()),
        (READER, CertificateNotAuthorised()),
        (EXPIRED_STAFF, CertificateNotValid),
    ],
)
def test_everybody_else_is_answered_as_for_a_protected_page(
    capsule: Capsule, path: str, identity: ClientIdentity | None, answer: Resource | type
) -> None:
    resource = capsule.resolve(path, identity=identity)
    if isinstance(answer, type):
        assert isinstance(resource, answer), resource
    else:
        assert resource == answer


def test_without_staff_nobody_sees_a_draft(root: Path, tmp_path: Path) -> None:
    capsule, _ = publish(root, tmp_path, staff=Protection(frozenset()))
    for path in (BUDGET, PLANS):
        assert capsule.resolve(path, identity=STAFF) == CertificateNotAuthorised()


def test_a_draft_under_a_protected_path_needs_a_certificate_both_admit(
    root: Path, tmp_path: Path
) -> None:
    members = ProtectRules((ProtectRule("2026/", Protection(frozenset({STAFF.fingerprint}))),))
    capsule, _ = publish(root, tmp_path, configured=members)
    assert isinstance(capsule.resolve(BUDGET, identity=STAFF), Page)
    assert capsule.resolve(BUDGET, identity=OTHER_STAFF) == CertificateNotAuthorised()


def test_drafts_are_never_listed(capsule: Capsule) -> None:
    for name, shown in lists(capsule).items():
        for secret in SECRETS:
            assert secret not in shown, (name, secret, shown)
    assert "=> a.gmi" in text(capsule, "/notes/")
    assert "=> /2026/11/20/gardens.gmi 2026-11-20 Gardens" in text(capsule, "/feed.gmi")
    assert "November 2026 (1 article)" in text(capsule, "/archive/")


def test_the_capsule_counts_drafts_as_protected_and_withheld(capsule: Capsule) -> None:
    assert capsule.protection(BUDGET) == TEAM
    assert capsule.protection(PLANS) == TEAM
    assert capsule.protection(PUBLIC) is None
    assert capsule.withheld(BUDGET) and capsule.withheld(PLANS) and capsule.withheld("/drafts/")
    assert not capsule.withheld(PUBLIC)


def test_publishing_a_draft_lists_it_at_the_next_refresh(root: Path, tmp_path: Path) -> None:
    capsule, catalog = publish(root, tmp_path)
    rewrite(root / BUDGET.lstrip("/"), "Status: published\n\n# Budget\nThe lighthouse budget.\n")
    assert text(capsule, BUDGET).startswith("# Budget\nThe lighthouse budget.\n\n## More")
    assert catalog.refresh(full=True) == Changes(changed=1)
    assert "=> /2026/11/22/budget.gmi 2026-11-22 Budget" in text(capsule, "/feed.gmi")
    assert "Budget" in text(capsule, "/search", "lighthouse")


def test_making_an_article_a_draft_hides_it_at_once_and_from_lists_at_the_next_refresh(
    root: Path, tmp_path: Path
) -> None:
    capsule, catalog = publish(root, tmp_path)
    rewrite(root / PUBLIC.lstrip("/"), "Status: draft\n# Gardens\nAbout gardens and tea.\n")
    assert capsule.resolve(PUBLIC) == CertificateRequired()
    assert catalog.refresh(full=True) == Changes(changed=1)
    assert "gardens.gmi" not in text(capsule, "/feed.gmi")
    assert "Gardens" not in text(capsule, "/search", "tea")


def test_the_search_index_holds_no_front_line(root: Path, tmp_path: Path) -> None:
    write_page(root, "/2026/11/24/open.gmi", "Published: 2026-11-24T06:00:00Z\n# Open\nTea.\n")
    capsule, _ = publish(root, tmp_path)
    assert "Open" in text(capsule, "/search", "tea")
    assert "No pages match" in text(capsule, "/search", "published")


def test_a_worker_following_the_index_leaves_drafts_out(root: Path, tmp_path: Path) -> None:
    publish(root, tmp_path)  # the writer indexes the disk
    follower = Catalog(root, tmp_path / "state" / "index.sqlite3", writer=False)
    access = AccessPolicy(MetaIndex(root), staff=TEAM)
    publication = Publication(follower, PublicationSettings(), None, access)
    capsule = Capsule(root, publication=publication)
    assert "budget.gmi" not in text(capsule, "/feed.gmi")
    assert "gardens.gmi" in text(capsule, "/feed.gmi")
    assert follower.snapshot.drafts == {BUDGET, "/notes/b.gmi"}


def test_a_draft_index_page_does_not_name_the_feeds(root: Path, tmp_path: Path) -> None:
    write_page(root, "/index.gmi", "Status: draft\n# Secret relaunch\n")
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    catalog.refresh()
    capsule = Capsule(root, publication=Publication(catalog, PublicationSettings(), None))
    assert text(capsule, "/feed.gmi").startswith("# Articles\n")
