"""security.txt (RFC 9116) as `capsule check` reads it: Contact and Expires, with line numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from capsule.security_txt import Finding, security_txt_findings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CONTACT = "Contact: mailto:security@example.org"
EXPIRES = "Expires: 2026-12-31T23:59:59Z"


def findings(*lines: str) -> list[Finding]:
    return security_txt_findings("\n".join(lines) + "\n", NOW)


def test_contact_and_future_expiry_are_enough() -> None:
    assert findings(CONTACT, EXPIRES) == []


def test_comments_and_other_fields_are_allowed() -> None:
    text = ("# security contact", CONTACT, "Policy: https://example.org/policy", EXPIRES, "")
    assert findings(*text) == []


def test_field_names_are_case_insensitive() -> None:
    assert findings("contact: mailto:a@example.org", "EXPIRES: 2026-12-31T23:59:59Z") == []


def test_several_contacts_are_fine() -> None:
    assert findings(CONTACT, "Contact: https://example.org/report", "Contact: tel:+1-201-555-0123",
                    EXPIRES) == []


def test_missing_contact_has_no_line() -> None:
    assert findings(EXPIRES) == [
        Finding(None, "no Contact field, e.g. Contact: mailto:security@example.org")
    ]


def test_missing_expires_has_no_line() -> None:
    assert findings(CONTACT) == [
        Finding(None, "no Expires field, e.g. Expires: 2030-12-31T23:59:59Z")
    ]


def test_empty_file_lacks_both() -> None:
    assert [finding.message.split(",")[0] for finding in findings("")] == [
        "no Contact field",
        "no Expires field",
    ]


@pytest.mark.parametrize(
    "expires", ["2026-06-01T12:00:00Z", "2026-06-01T11:59:59Z", "2026-06-01T13:00:00+02:00"]
)
def test_expiry_now_or_before_is_reported_on_its_line(expires: str) -> None:
    assert findings(CONTACT, "", f"Expires: {expires}") == [
        Finding(3, f"Expires {expires} has passed: readers ignore an expired security.txt")
    ]


@pytest.mark.parametrize(
    "expires", ["2026-06-01T12:00:01Z", "2026-06-01t12:00:01z", "2026-06-01 13:00:01+01:00",
                "2026-06-01T12:00:00.5Z"]
)
def test_expiry_after_now_in_any_rfc3339_form_is_fine(expires: str) -> None:
    assert findings(CONTACT, f"Expires: {expires}") == []


@pytest.mark.parametrize(
    "expires", ["2026-12-31", "next year", "2026-12-31T23:59:59", "31 Dec 2026 23:59:59 GMT"]
)
def test_expiry_that_is_not_an_rfc3339_time_with_offset_is_reported(expires: str) -> None:
    (finding,) = findings(CONTACT, f"Expires: {expires}")
    assert finding.line == 2
    assert finding.message.startswith(f"Expires {expires!r} is not a date and time")


def test_impossible_date_is_reported() -> None:
    assert findings(CONTACT, "Expires: 2026-02-30T00:00:00Z") == [
        Finding(2, "Expires '2026-02-30T00:00:00Z' is not a valid date")
    ]


def test_second_expires_is_reported_on_its_line() -> None:
    assert findings(CONTACT, EXPIRES, EXPIRES) == [
        Finding(3, "Expires appears again (first on line 2)")
    ]


@pytest.mark.parametrize(
    ("contact", "problem"),
    [
        ("security@example.org", "is not a URI such as mailto:, https: or tel:"),
        ("http://example.org/security", "must be an https: URL, not http:"),
    ],
)
def test_contact_that_is_not_a_usable_uri_is_reported(contact: str, problem: str) -> None:
    expected = Finding(1, f"Contact {contact!r} {problem}")
    assert findings(f"Contact: {contact}", EXPIRES) == [expected]


def test_signed_file_is_read_inside_its_signature_with_real_line_numbers() -> None:
    signed = (
        "-----BEGIN PGP SIGNED MESSAGE-----",
        "Hash: SHA512",
        "",
        CONTACT,
        "Expires: 2020-01-01T00:00:00Z",
        "-----BEGIN PGP SIGNATURE-----",
        "Expires: 2030-01-01T00:00:00Z",
        "-----END PGP SIGNATURE-----",
    )
    assert findings(*signed) == [
        Finding(5, "Expires 2020-01-01T00:00:00Z has passed: readers ignore an expired "
                   "security.txt")
    ]


def test_signed_file_armor_headers_are_not_fields() -> None:
    signed = ("-----BEGIN PGP SIGNED MESSAGE-----", "Hash: SHA512", "Contact: mailto:x@y.z", "",
              EXPIRES, "-----BEGIN PGP SIGNATURE-----", "-----END PGP SIGNATURE-----")
    assert [finding.message.split(",")[0] for finding in findings(*signed)] == ["no Contact field"]


def test_dash_escaped_lines_of_a_signed_file_are_unescaped() -> None:
    signed = ("-----BEGIN PGP SIGNED MESSAGE-----", "Hash: SHA512", "", f"- {CONTACT}", EXPIRES,
              "-----BEGIN PGP SIGNATURE-----", "-----END PGP SIGNATURE-----")
    assert findings(*signed) == []
