"""Operator redirects: exact paths and subtrees."""

from __future__ import annotations

import pytest

from capsule.resources import Redirect, target_problem
from capsule.rules.redirects import RedirectRule, find_redirect

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


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("/\\evil.example/", "backslash"),
        ("https://ok.example\\@evil.example/", "backslash"),
        ("//evil.example/", "scheme-relative URL (another host); write the scheme"),
        ("/a\tb", "control character"),
        ("/a\x00b", "control character"),
        ("/a\x85b", "control character"),
        ("relative.gmi", "an absolute path or a full URL"),
        ("mailto:me@example.org", "an absolute path or a full URL"),
    ],
)
def test_target_that_could_reach_another_host_is_refused(target: str, problem: str) -> None:
    assert target_problem(target) == problem


@pytest.mark.parametrize("target", ["/new.gmi", "/articles/*", "gemini://elsewhere.example/x"])
def test_absolute_path_or_full_url_is_a_target(target: str) -> None:
    assert target_problem(target) is None


@pytest.mark.parametrize("path", ["//evil.example/", "///evil.example", "/\\evil.example"])
def test_subtree_to_root_never_makes_a_scheme_relative_target(path: str) -> None:
    redirect = RedirectRule("/*", "/new/*").apply(path)
    assert redirect is not None
    assert not redirect.target.startswith("//")
    assert "\\" not in redirect.target
    rooted = RedirectRule("/old/*", "/*").apply("/old//evil.example/")
    assert rooted == Redirect("/evil.example/", True)


@pytest.mark.parametrize("target", ["/\\evil.example/", "//evil.example/", "/a\rLocation: x"])
def test_no_redirect_can_point_at_another_host_by_accident(target: str) -> None:
    with pytest.raises(ValueError, match="redirect target"):
        Redirect(target, permanent=True)


def test_relative_redirect_targets_stay_possible() -> None:
    assert Redirect("about.gmi", permanent=False).target == "about.gmi"
