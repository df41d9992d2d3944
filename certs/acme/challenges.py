"""Pending http-01 challenges as files, so whichever process answers port 80 can answer them."""

from __future__ import annotations

import re
from pathlib import Path

from certs.files import write_atomically
from certs.layout import acme_directory

CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
"""Where an ACME server fetches an http-01 token (RFC 8555 §8.3)."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""A token is base64url without padding; nothing else ever names a file."""
_PRIVATE_DIR_MODE = 0o700


def challenge_token(path: str) -> str | None:
    """The token an http-01 request path asks for; None if the path is not a challenge."""
    return path.removeprefix(CHALLENGE_PREFIX) if path.startswith(CHALLENGE_PREFIX) else None


class ChallengeTokens:
    """The key authorizations of the challenges under way, one file per token."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = acme_directory(state_dir) / "challenges"

    def publish(self, token: str, key_authorization: str) -> None:
        """Answer `token` with `key_authorization` until it is withdrawn."""
        self.directory.mkdir(mode=_PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        write_atomically(self._path(token), key_authorization.encode("ascii"), 0o600)

    def withdraw(self, token: str) -> None:
        """Stop answering `token`."""
        self._path(token).unlink(missing_ok=True)

    def lookup(self, token: str) -> bytes | None:
        """The key authorization for `token`, or None if no challenge is under way for it."""
        if not _TOKEN.fullmatch(token):
            return None
        try:
            return self._path(token).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _path(self, token: str) -> Path:
        if not _TOKEN.fullmatch(token):
            raise ValueError(f"not an ACME token: {token!r}")
        return self.directory / token
