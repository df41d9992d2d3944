"""Operator redirects: exact paths and subtrees."""

from __future__ import annotations

import pytest

from capsule.redirects import RedirectRule, find_redirect
from capsule.resources import Redirect

RULES = (
    RedirectRule("/old.gmi", "/new.gmi"),
    RedirectRule("/blog/*", "/articles/*"),
    RedirectRule("/tmp/*", "gemini://elsewhere.example/", permanent=False),
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/old.gmi", Redirect("/new.gmi", True)),
        ("/old.gmi/", None),
        ("/blog/2026/post.gmi", Redirect("/articles/2026/post.gmi", True)),
        ("/blog/", Redirect("/articles/", True)),
        ("/blog", Redirect("/articles/", True)),
        ("/blogger/", None),
        ("/tmp/anything", Redirect("gemini://elsewhere.example/", False)),
        ("/", None),
        ("/blog/x?y z#f", Redirect("/articles/x%3Fy%20z%23f", True)),
    ],
)
def test_redirect_rules(path: str, expected: Redirect | None) -> None:
    assert find_redirect(RULES, path) == expected


def test_subtree_redirect_cannot_point_at_another_host() -> None:
    rule = RedirectRule("/blog/*", "/*")
    assert rule.apply("/blog/\\evil.example") == Redirect("/%5Cevil.example", True)
