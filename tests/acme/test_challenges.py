"""Pending http-01 challenges: published as files, found by token, withdrawn."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from certs.acme import ChallengeTokens, challenge_token


@pytest.mark.parametrize(
    ("path", "token"),
    [
        ("/.well-known/acme-challenge/abc_DEF-123", "abc_DEF-123"),
        ("/.well-known/acme-challenge/", ""),
        ("/.well-known/acme-challenge/../../etc/passwd", "../../etc/passwd"),
        ("/.well-known/security.txt", None),
        ("/", None),
    ],
)
def test_challenge_token_is_what_follows_the_challenge_prefix(
    path: str, token: str | None
) -> None:
    assert challenge_token(path) == token


def test_a_published_challenge_is_found_until_withdrawn(tmp_path: Path) -> None:
    tokens = ChallengeTokens(tmp_path)
    tokens.publish("tok-1", "tok-1.thumbprint")
    assert tokens.lookup("tok-1") == b"tok-1.thumbprint"
    assert stat.S_IMODE(tokens.directory.stat().st_mode) == 0o700
    tokens.withdraw("tok-1")
    assert tokens.lookup("tok-1") is None


@pytest.mark.parametrize("token", ["", "../account.key", "a/b", "a.b", "x" * 257])
def test_a_token_outside_base64url_names_no_file(tmp_path: Path, token: str) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "account.key").write_text("secret")
    assert ChallengeTokens(tmp_path).lookup(token) is None


def test_nothing_is_found_before_any_challenge(tmp_path: Path) -> None:
    assert ChallengeTokens(tmp_path).lookup("abc") is None
