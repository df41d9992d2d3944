"""Redirects configured by the operator: exact paths, or whole subtrees with `/*`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from capsule.resources import Redirect


@dataclass(frozen=True, slots=True)
class RedirectRule:
    """`source` (a path, or a prefix ending in `/*`) moves to `target`."""

    source: str
    target: str
    permanent: bool = True

    def apply(self, path: str) -> Redirect | None:
        """The redirect for `path`, if this rule covers it."""
        if self.source.endswith("/*"):
            prefix = self.source[:-1]
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                rest = path[len(prefix) :] if path.startswith(prefix) else ""
                # `rest` is decoded: encode it again so it cannot add a query, a fragment or a
                # second slash that would make the target another host.
                # Leading slashes go too: "/*" + "/evil.example" must not become "//evil.example".
                rest = quote(rest.lstrip("/"))
                target = self.target[:-1] + rest if self.target.endswith("/*") else self.target
                return Redirect(target, self.permanent)
            return None
        return Redirect(self.target, self.permanent) if path == self.source else None


def find_redirect(rules: tuple[RedirectRule, ...], path: str) -> Redirect | None:
    """The first rule that covers `path`, in configured order."""
    for rule in rules:
        if (redirect := rule.apply(path)) is not None:
            return redirect
    return None

