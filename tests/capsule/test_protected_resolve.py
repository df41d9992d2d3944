"""Resolving protected paths: which certificate gets the page, and which status everyone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from capsule.catalog.store import Catalog
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import (
    CertificateNotAuthorised,
    CertificateNotValid,
    CertificateRequired,
    File,
    NotFound,
    Page,
    Redirect,
)
from capsule.root import Capsule
from capsule.rules.access import (
    ANY_CERTIFICATE,
    ClientIdentity,
    Protection,
    ProtectRule,
    ProtectRules,
)
from capsule.rules.meta import MetaIndex
from capsule.rules.policy import AccessPolicy
from capsule.rules.redirects import RedirectRule
from gemtext import Link, parse
from tests.harness import write_page
from tests.identities import new_identity

MEMBER = new_identity("member")
STRANGER = new_identity("stranger")
NOW = datetime.now(UTC)
EXPIRED = new_identity("member", NOW - timedelta(days=400), NOW - timedelta(days=35))
NOT_YET_VALID = new_identity("member", NOW + timedelta(days=2), NOW + timedelta(days=400))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Home\n")
    write_page(root, "/open.gmi", "# Open\n")
    write_page(root, "/members/index.gmi", "# Members\n")
    write_page(root, "/members/minutes.gmi", "# Minutes\n")
    write_page(root, "/members/files/plan.pdf", "%PDF-1.4\n")
    write_page(root, "/club/rules.gmi", "# Rules\n")
    write_page(root, ".meta", f"members/ protect=sha256:{MEMBER.fingerprint}\nclub/ protect=any\n")
    return root


@pytest.fixture
def capsule(root: Path) -> Capsule:
    return Capsule(root, "en")


@pytest.mark.parametrize(
    "path", ["/members/", "/members/index.gmi", "/members/minutes.gmi", "/members/files/plan.pdf",
             "/members/missing.gmi", "/members/files/"],
)
def test_without_a_certificate_a_protected_path_asks_for_one(capsule: Capsule, path: str) -> None:
    resource = capsule.resolve(path)
    assert resource == CertificateRequired()
    assert resource.reason == "A client certificate is needed for this page"


def test_a_listed_certificate_gets_the_page(capsule: Capsule) -> None:
    assert capsule.resolve("/members/minutes.gmi", identity=MEMBER) == Page("# Minutes\n", "en")
    assert capsule.resolve("/members/", identity=MEMBER) == Page("# Members\n", "en")
    assert isinstance(capsule.resolve("/members/files/plan.pdf", identity=MEMBER), File)


def test_a_certificate_off_the_list_is_not_authorised(capsule: Capsule) -> None:
    assert capsule.resolve("/members/minutes.gmi", identity=STRANGER) == CertificateNotAuthorised()


@pytest.mark.parametrize("identity", [EXPIRED, NOT_YET_VALID], ids=["expired", "not yet valid"])
def test_a_certificate_outside_its_dates_is_not_valid_even_on_the_list(
    root: Path, identity: ClientIdentity
) -> None:
    write_page(root, ".meta", f"members/ protect=sha256:{identity.fingerprint}\n")
    resource = Capsule(root).resolve("/members/minutes.gmi", identity=identity)
    assert isinstance(resource, CertificateNotValid)
    assert "client certificate" in resource.reason


def test_any_valid_certificate_opens_a_path_protected_for_any(capsule: Capsule) -> None:
    assert capsule.resolve("/club/rules.gmi") == CertificateRequired()
    assert capsule.resolve("/club/rules.gmi", identity=STRANGER) == Page("# Rules\n", "en")
    assert isinstance(capsule.resolve("/club/rules.gmi", identity=EXPIRED), CertificateNotValid)


def test_public_paths_ignore_certificates(capsule: Capsule) -> None:
    assert capsule.resolve("/open.gmi") == Page("# Open\n", "en")
    assert capsule.resolve("/open.gmi", identity=EXPIRED) == Page("# Open\n", "en")


def test_protection_comes_before_redirects_gone_and_not_found(root: Path) -> None:
    write_page(root, "members/.meta", "old.gmi redirect=/new.gmi\nremoved.gmi gone\n")
    redirects = (RedirectRule("/members/moved.gmi", "/open.gmi"),)
    capsule = Capsule(root, access=AccessPolicy(MetaIndex(root), redirects=redirects))
    for path in ("/members/old.gmi", "/members/removed.gmi", "/members/moved.gmi",
                 "/members/nothing-here.gmi"):
        assert capsule.resolve(path) == CertificateRequired(), path
    assert capsule.resolve("/members/old.gmi", identity=MEMBER) == Redirect("/new.gmi", True)
    assert capsule.resolve("/members/nothing-here.gmi", identity=MEMBER) == NotFound()


def test_protection_says_who_may_see_a_path(capsule: Capsule) -> None:
    assert capsule.protection("/members/minutes.gmi") == Protection(
        frozenset({MEMBER.fingerprint})
    )
    assert capsule.protection("/club/") == ANY_CERTIFICATE
    assert capsule.protection("/open.gmi") is None
    assert capsule.protection("/") is None


def test_a_meta_edit_protects_a_page_on_the_next_request(root: Path, capsule: Capsule) -> None:
    assert capsule.resolve("/open.gmi") == Page("# Open\n", "en")
    write_page(root, ".meta", "open.gmi protect=any\n")
    assert capsule.resolve("/open.gmi") == CertificateRequired()


# Rules from the configuration


def configured(root: Path, *rules: tuple[str, Protection]) -> Capsule:
    protect = ProtectRules(tuple(ProtectRule(pattern, who) for pattern, who in rules))
    return Capsule(root, access=AccessPolicy(MetaIndex(root), protect))


def test_configured_rules_protect_like_meta_rules(root: Path) -> None:
    (root / ".meta").unlink()
    capsule = configured(root, ("open.gmi", Protection(frozenset({MEMBER.fingerprint}))))
    assert capsule.resolve("/open.gmi") == CertificateRequired()
    assert capsule.resolve("/open.gmi", identity=STRANGER) == CertificateNotAuthorised()
    assert capsule.resolve("/open.gmi", identity=MEMBER) == Page("# Open\n")
    assert capsule.resolve("/index.gmi") == Page("# Home\n")


def test_configured_and_meta_rules_must_both_admit_a_certificate(root: Path) -> None:
    capsule = configured(root, ("members/", Protection(frozenset({STRANGER.fingerprint}))))
    assert capsule.resolve("/members/minutes.gmi", identity=STRANGER) == CertificateNotAuthorised()
    assert capsule.resolve("/members/minutes.gmi", identity=MEMBER) == CertificateNotAuthorised()
    assert capsule.protection("/members/") == Protection(frozenset())


def test_a_capsule_and_its_publication_share_one_policy(root: Path, tmp_path: Path) -> None:
    catalog = Catalog(root, tmp_path / "index.sqlite3")
    publication = Publication(catalog, PublicationSettings(), None)
    assert Capsule(root, publication=publication).access is publication.access
    with pytest.raises(ValueError, match="share one access policy"):
        Capsule(root, publication=publication, access=AccessPolicy(MetaIndex(root)))


# Listings


def test_generated_listings_leave_protected_entries_out(root: Path) -> None:
    write_page(root, ".meta", "/ listing\nmembers/ protect=any\nsecret.txt protect=any\n")
    (root / "index.gmi").unlink()
    write_page(root, "/secret.txt", "hush\n")
    write_page(root, "/public.txt", "hello\n")
    listing = Capsule(root).resolve("/")
    assert isinstance(listing, Page)
    urls = [line.url for line in parse(listing.gemtext) if isinstance(line, Link)]
    assert urls == ["club/", "open.gmi", "public.txt"]


def test_a_protected_directory_without_its_slash_does_not_redirect_strangers(
    capsule: Capsule,
) -> None:
    # A redirect to /members/ would tell anyone that the directory exists.
    assert capsule.resolve("/members") == CertificateRequired()
    assert capsule.resolve("/members/files") == CertificateRequired()
    assert capsule.resolve("/members", identity=STRANGER) == CertificateNotAuthorised()
    assert capsule.resolve("/members", identity=MEMBER) == Redirect("/members/", True)
    assert capsule.resolve("/club") == CertificateRequired()
