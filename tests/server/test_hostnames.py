"""Host names: kept in their IDNA form, matched in either form, shown in Unicode."""

from __future__ import annotations

import pytest

from server.hostnames import HostNameError, ascii_host, matching_host, unicode_host


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("café.example", "xn--caf-dma.example"),
        ("CAFÉ.Example.", "xn--caf-dma.example"),
        ("xn--caf-dma.example", "xn--caf-dma.example"),
        ("XN--CAF-DMA.EXAMPLE", "xn--caf-dma.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("Example.ORG", "example.org"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("2001:DB8::1", "2001:db8::1"),
    ],
)
def test_names_are_kept_in_their_ascii_form(name: str, stored: str) -> None:
    assert ascii_host(name) == stored


def test_idna_2008_keeps_sharp_s_where_idna_2003_would_make_it_ss() -> None:
    assert ascii_host("straße.de") == "xn--strae-oqa.de"
    assert "straße.de".encode("idna") == b"strasse.de"  # the stdlib's IDNA 2003: another domain


@pytest.mark.parametrize(
    "name", ["", ".", "a_b.example", "caf é.example", "a/b", "-lead.example", "xn--zz.example",
             "☕.example", "a" * 64 + ".example", "a..b"]
)
def test_what_cannot_be_a_host_name_is_refused_with_a_reason(name: str) -> None:
    with pytest.raises(HostNameError) as refused:
        ascii_host(name)
    assert str(refused.value)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("café.example", "xn--caf-dma.example"),
        ("xn--caf-dma.example", "xn--caf-dma.example"),
        ("XN--Caf-Dma.Example.", "xn--caf-dma.example"),
        ("ｌocalhost", "localhost"),  # UTS #46 maps full-width letters, as browsers do
        ("caf\u200dé.example", None),
        ("café .example", None),
    ],
)
def test_a_name_from_a_request_matches_its_stored_form(sent: str, stored: str | None) -> None:
    assert matching_host(sent) == stored


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("xn--caf-dma.example", "café.example"),
        ("xn--r8jz45g.xn--zckzah", "例え.テスト"),
        ("example.org", "example.org"),
        ("::1", "::1"),
        ("xn--zz.example", "xn--zz.example"),
    ],
)
def test_names_are_shown_in_unicode(stored: str, shown: str) -> None:
    assert unicode_host(stored) == shown
