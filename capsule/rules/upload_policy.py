"""Where a capsule accepts uploads, from which client certificates, and within which limits."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from capsule.resources import AccessRefusal
from capsule.rules.access import ClientIdentity, Protection, ProtectRule, ProtectRules, refusal
from capsule.setting import POSITIVE, setting

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadRule:
    """One opening for uploads: paths (shell globs relative to the root, with the coverage of
    protect rules: a pattern matching a directory covers everything below it), the identities
    that may write there, and the limits of what they may do."""

    patterns: tuple[str, ...]
    """Path patterns relative to the root ("" for the root itself)."""
    identities: frozenset[str]
    """SHA-256 fingerprints (64 lowercase hex digits) of the certificates that may write."""
    max_bytes: int = setting(
        DEFAULT_MAX_BYTES,
        bound=POSITIVE,
        help="the largest upload accepted, in bytes; a larger size is refused before any byte "
        "of it is read",
    )
    allow_delete: bool = setting(
        False, help="whether an upload of size 0 deletes the file (otherwise it is refused)"
    )
    keep_versions: int = setting(
        0,
        help="earlier versions kept of each file, the newest ones; 0 keeps them all",
    )
    keep_days: int = setting(
        0,
        help="days an earlier version is kept after it stopped being served; 0 keeps it forever",
    )
    _coverage: ProtectRules = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.identities:
            raise ValueError("an upload rule must list at least one identity")
        # The rule language of protected paths, reused: "covered" is "protected" there.
        protection = Protection(self.identities)
        rules = tuple(ProtectRule(pattern, protection) for pattern in self.patterns)
        object.__setattr__(self, "_coverage", ProtectRules(rules))

    def covers(self, path: str) -> bool:
        """Whether the file at `path` (decoded, starting with "/") lies within this rule."""
        return self._coverage.protection(path[1:], is_directory=False) is not None

    def covers_folder(self, folder: str) -> bool:
        """Whether everything in `folder` ("" for the root, else ending in "/") lies within
        this rule: so a directory made there is the rule's to remove again."""
        return self._coverage.folder_protection(folder) is not None

    def admits(self, identity: ClientIdentity) -> bool:
        """Whether this certificate is one of the rule's identities (dates aside)."""
        return identity.fingerprint in self.identities


@dataclass(frozen=True, slots=True)
class UploadsClosed:
    """No rule opens the path to uploads."""


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    """The upload rules of one root. Rules are grants: a path is open to a certificate if any
    rule covering the path lists it, and the first such rule (in configuration order) sets
    the limits."""

    rules: tuple[UploadRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def decide(
        self,
        path: str,
        identity: ClientIdentity | None,
        moment: datetime,
        written: str | None = None,
    ) -> UploadRule | UploadsClosed | AccessRefusal:
        """The rule under which `identity` may write the file at `path` at `moment`, or why
        not: closed to uploads, or refused as a protected path refuses (60, 62, 61).

        `written` is the URL path of the file actually written, symlinks resolved: where it is
        another, it must be open to `identity` too, and the narrower limits of both apply.
        """
        granted = self._decide(path, identity, moment)
        if written is None or written == path or not isinstance(granted, UploadRule):
            return granted
        there = self._decide(written, identity, moment)
        if not isinstance(there, UploadRule):
            return there
        return replace(
            granted,
            max_bytes=min(granted.max_bytes, there.max_bytes),
            allow_delete=granted.allow_delete and there.allow_delete,
        )

    def _decide(
        self, path: str, identity: ClientIdentity | None, moment: datetime
    ) -> UploadRule | UploadsClosed | AccessRefusal:
        covering = [rule for rule in self.rules if rule.covers(path)]
        if not covering:
            return UploadsClosed()
        listed = Protection(frozenset().union(*(rule.identities for rule in covering)))
        refused = refusal(listed, identity, moment)
        if refused is not None:
            return refused
        assert identity is not None
        return next(rule for rule in covering if rule.admits(identity))
