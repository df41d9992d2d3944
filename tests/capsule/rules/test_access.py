"""Client identities, fingerprints, and which certificates a protection admits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsule.resources import CertificateNotAuthorised, CertificateNotValid, CertificateRequired
from capsule.rules.access import (
    ANY_CERTIFICATE,
    NO_CERTIFICATE,
    ClientIdentity,
    Protection,
    ProtectRule,
    ProtectRules,
    parse_fingerprint,
    parse_protection,
    refusal,
    shown_fingerprint,
)
from tests.identities import client_certificate, identity_of, new_identity

HEX = "0123456789abcdef" * 4
A = "a" * 64
B = "b" * 64
C = "c" * 64

# Fingerprints


@pytest.mark.parametrize(
    "text",
    [
        HEX,
        "sha256:" + HEX,
        "SHA256:" + HEX,
        HEX.upper(),
        "sha256:" + HEX.upper(),
        ":".join(HEX[i : i + 2] for i in range(0, 64, 2)),
        ":".join(HEX[i : i + 2] for i in range(0, 64, 2)).upper(),
        "sha256:" + ":".join(HEX[i : i + 2] for i in range(0, 64, 2)),
        f"  {HEX}\n",
    ],
)
def test_every_written_form_of_a_fingerprint_reads_as_64_lowercase_hex(text: str) -> None:
    assert parse_fingerprint(text) == HEX


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "0 hex digits where a SHA-256 fingerprint has 64"),
        (HEX[:-2], "62 hex digits where a SHA-256 fingerprint has 64"),
        (HEX + "00", "66 hex digits where a SHA-256 fingerprint has 64"),
        ("g" + HEX[1:], "'g' is not a hex digit"),
        ("sha256: " + HEX, "' ' is not a hex digit"),
        ("sha1:" + HEX[:40], "only SHA-256 fingerprints are accepted, not sha1"),
        ("md5:" + HEX[:32], "only SHA-256 fingerprints are accepted, not md5"),
        ("abc:" + HEX[3:], "colons must separate pairs of hex digits"),
        (HEX[:2] + "::" + HEX[2:], "colons must separate pairs of hex digits"),
    ],
)
def test_a_malformed_fingerprint_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_fingerprint(text)
    assert str(refused.value) == reason


@given(st.binary(min_size=32, max_size=32))
def test_the_displayed_form_reads_back_as_the_same_fingerprint(digest: bytes) -> None:
    fingerprint = digest.hex()
    shown = shown_fingerprint(fingerprint)
    assert shown == "sha256:" + fingerprint
    assert parse_fingerprint(shown) == fingerprint
    assert parse_fingerprint(":".join(f"{byte:02X}" for byte in digest)) == fingerprint


# Identities


def test_an_identity_carries_the_sha256_of_its_whole_certificate() -> None:
    identity = new_identity()
    assert len(identity.fingerprint) == 64
    assert str(identity) == "sha256:" + identity.fingerprint
    assert identity != new_identity(), "each certificate is another identity"


@pytest.mark.parametrize("fingerprint", ["sha256:" + A, A.upper(), A[:-1], ""])
def test_an_identity_takes_only_the_normalised_fingerprint(fingerprint: str) -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        ClientIdentity(fingerprint, now, now)


def test_an_identity_needs_dates_with_a_time_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        ClientIdentity(A, datetime(2026, 1, 1), datetime(2027, 1, 1, tzinfo=UTC))


def test_an_identity_is_valid_between_its_dates_both_included() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2027, 1, 1, tzinfo=UTC)
    identity = identity_of(client_certificate(not_before=start, not_after=end))
    assert identity.valid_at(start)
    assert identity.valid_at(end)
    assert identity.valid_at(datetime(2026, 6, 1, 2, tzinfo=timezone(timedelta(hours=2))))
    assert not identity.valid_at(start - timedelta(seconds=1))
    assert not identity.valid_at(end + timedelta(seconds=1))


# Protections


def test_any_certificate_admits_every_identity() -> None:
    assert ANY_CERTIFICATE.any_certificate
    assert ANY_CERTIFICATE.admits(new_identity())


def test_a_list_admits_only_the_identities_on_it() -> None:
    listed, other = new_identity("listed"), new_identity("other")
    protection = Protection(frozenset({listed.fingerprint}))
    assert protection.admits(listed)
    assert not protection.admits(other)
    assert not NO_CERTIFICATE.admits(listed)


@pytest.mark.parametrize(
    ("first", "second", "both"),
    [
        (ANY_CERTIFICATE, ANY_CERTIFICATE, ANY_CERTIFICATE),
        (ANY_CERTIFICATE, Protection(frozenset({A})), Protection(frozenset({A}))),
        (Protection(frozenset({A, B})), ANY_CERTIFICATE, Protection(frozenset({A, B}))),
        (Protection(frozenset({A, B})), Protection(frozenset({B, C})), Protection(frozenset({B}))),
        (Protection(frozenset({A})), Protection(frozenset({C})), NO_CERTIFICATE),
    ],
)
def test_narrowing_admits_what_both_admit(
    first: Protection, second: Protection, both: Protection
) -> None:
    assert first.narrowed(second) == both
    assert second.narrowed(first) == both


@pytest.mark.parametrize(
    ("value", "protection"),
    [
        ("any", ANY_CERTIFICATE),
        (" any ", ANY_CERTIFICATE),
        (["any"], ANY_CERTIFICATE),
        ("sha256:" + A, Protection(frozenset({A}))),
        (f"sha256:{A},{B.upper()}", Protection(frozenset({A, B}))),
        (["sha256:" + A, B, "sha256:" + A], Protection(frozenset({A, B}))),
    ],
)
def test_protections_read_any_or_fingerprints(
    value: str | list[str], protection: Protection
) -> None:
    assert parse_protection(value) == protection


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([], "no fingerprints (or 'any' for any certificate)"),
        ("", "'' is not a fingerprint: 0 hex digits where a SHA-256 fingerprint has 64"),
        (f"any,{A}", "'any' admits every certificate; list no fingerprints with it"),
        (["sha256:xyz"], "'sha256:xyz' is not a fingerprint: 'x' is not a hex digit"),
        ([A, "b" * 63], f"'{'b' * 63}' is not a fingerprint: 63 hex digits where a SHA-256 "
         "fingerprint has 64"),
    ],
)
def test_a_bad_protection_is_refused_naming_the_entry(
    value: str | list[str], reason: str
) -> None:
    with pytest.raises(ValueError) as refused:
        parse_protection(value)
    assert str(refused.value) == reason


def test_a_protection_shows_what_it_admits() -> None:
    assert str(ANY_CERTIFICATE) == "any client certificate"
    assert str(Protection(frozenset({B, A}))) == f"sha256:{A}, sha256:{B}"


# Refusals


def test_no_certificate_is_asked_for_one() -> None:
    refused = refusal(ANY_CERTIFICATE, None, datetime.now(UTC))
    assert refused == CertificateRequired()
    assert refused.reason == "A client certificate is needed for this page"


def test_an_expired_certificate_is_not_valid_and_says_since_when() -> None:
    now = datetime.now(UTC)
    expired = new_identity(
        not_before=datetime(2020, 1, 1, tzinfo=UTC), not_after=datetime(2024, 3, 1, 12, tzinfo=UTC)
    )
    refused = refusal(ANY_CERTIFICATE, expired, now)
    assert refused == CertificateNotValid("This client certificate expired on 2024-03-01 12:00 UTC")


def test_a_certificate_not_yet_valid_is_not_valid_and_says_from_when() -> None:
    now = datetime.now(UTC)
    future = new_identity(
        not_before=datetime(2099, 5, 1, tzinfo=UTC), not_after=datetime(2100, 1, 1, tzinfo=UTC)
    )
    refused = refusal(ANY_CERTIFICATE, future, now)
    assert refused == CertificateNotValid(
        "This client certificate is not valid before 2099-05-01 00:00 UTC"
    )


def test_validity_is_checked_before_the_list() -> None:
    expired = new_identity(
        not_before=datetime(2020, 1, 1, tzinfo=UTC), not_after=datetime(2021, 1, 1, tzinfo=UTC)
    )
    protection = Protection(frozenset({A}))
    assert isinstance(refusal(protection, expired, datetime.now(UTC)), CertificateNotValid)


def test_a_valid_certificate_off_the_list_is_not_authorised() -> None:
    protection = Protection(frozenset({A}))
    refused = refusal(protection, new_identity(), datetime.now(UTC))
    assert refused == CertificateNotAuthorised()


def test_a_valid_listed_certificate_is_let_through() -> None:
    identity = new_identity()
    protection = Protection(frozenset({identity.fingerprint}))
    assert refusal(protection, identity, datetime.now(UTC)) is None


# Which paths a rule covers


ONLY_A = Protection(frozenset({A}))


def rules(*pairs: tuple[str, Protection]) -> ProtectRules:
    return ProtectRules(tuple(ProtectRule(pattern, protection) for pattern, protection in pairs))


@pytest.mark.parametrize("pattern", ["members/", "members", "members/*"])
@pytest.mark.parametrize(
    ("relative", "is_directory"),
    [
        ("members/", True),
        ("members/index.gmi", False),
        ("members/a.gmi", False),
        ("members/deep/down/b.txt", False),
        ("members/deep/", True),
    ],
)
def test_a_directory_rule_covers_the_directory_and_everything_below(
    pattern: str, relative: str, is_directory: bool
) -> None:
    assert rules((pattern, ANY_CERTIFICATE)).protection(relative, is_directory) == ANY_CERTIFICATE


@pytest.mark.parametrize(
    ("relative", "is_directory"),
    [("", True), ("index.gmi", False), ("membership.gmi", False), ("other/", True),
     ("members.gmi", False), ("old-members/a.gmi", False)],
)
def test_a_directory_rule_leaves_its_neighbours_alone(relative: str, is_directory: bool) -> None:
    assert rules(("members/", ANY_CERTIFICATE)).protection(relative, is_directory) is None


def test_the_place_itself_covers_everything_in_it() -> None:
    place = rules(("", ANY_CERTIFICATE))
    assert place.protection("", True) == ANY_CERTIFICATE
    assert place.protection("a/b/c.gmi", False) == ANY_CERTIFICATE


def test_a_file_pattern_covers_matching_files_anywhere_and_directories_by_their_index() -> None:
    drafts = rules(("*.draft.gmi", ANY_CERTIFICATE), ("*/index.gmi", ONLY_A))
    assert drafts.protection("a/b/x.draft.gmi", False) == ANY_CERTIFICATE
    assert drafts.protection("x.gmi", False) is None
    assert drafts.protection("a/", True) == ONLY_A
    assert drafts.protection("", True) is None


def test_every_rule_covering_a_path_must_admit_the_certificate() -> None:
    both = rules(("members/", ANY_CERTIFICATE), ("members/board/*", ONLY_A),
                 ("members/board/minutes.gmi", Protection(frozenset({A, B}))))
    assert both.protection("members/a.gmi", False) == ANY_CERTIFICATE
    assert both.protection("members/board/x.gmi", False) == ONLY_A
    assert both.protection("members/board/minutes.gmi", False) == ONLY_A
