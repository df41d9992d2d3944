"""robots.txt: the generated rules, the file Gemini clients get, and a root's own file winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.publication.robots import (
    RobotsSettings,
    gemini_robots_txt,
    generated_robots,
    robots_txt,
)
from capsule.resources import File, Gone, NotFound, Robots
from capsule.root import Capsule
from tests.harness import write_page


def test_search_is_disallowed_when_the_capsule_has_search() -> None:
    assert generated_robots(RobotsSettings(), searchable=True) == Robots(("/search",))


def test_nothing_is_disallowed_without_search_or_configured_paths() -> None:
    assert generated_robots(RobotsSettings(), searchable=False) == Robots(())


def test_configured_paths_follow_search_once_each() -> None:
    settings = RobotsSettings(disallow=("/drafts/", "/search", "/private.gmi"))
    assert generated_robots(settings, searchable=True) == Robots(
        ("/search", "/drafts/", "/private.gmi")
    )


def test_generation_turned_off_generates_nothing() -> None:
    assert generated_robots(RobotsSettings(generate=False, disallow=("/x/",)), True) is None


def test_gemini_robots_names_every_virtual_user_agent_in_one_group() -> None:
    text = gemini_robots_txt(Robots(("/search",)))
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        "User-agent: archiver",
        "User-agent: indexer",
        "User-agent: researcher",
        "User-agent: webproxy",
        "User-agent: *",
        "Disallow: /search",
    ]


def test_gemini_robots_percent_encodes_paths() -> None:
    text = gemini_robots_txt(Robots(("/café au lait/",)))
    assert "Disallow: /caf%C3%A9%20au%20lait/\n" in text


def test_no_rule_is_an_empty_disallow_which_allows_everything() -> None:
    assert robots_txt(["*"], []).endswith("User-agent: *\nDisallow:\n")


def test_sitemap_line_follows_the_group() -> None:
    text = robots_txt(["*"], ["/search"], "https://example.org/sitemap.xml")
    assert text.endswith("Disallow: /search\n\nSitemap: https://example.org/sitemap.xml\n")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Home\n")
    return root


def test_capsule_answers_its_generated_rules_when_the_root_has_no_robots_txt(root: Path) -> None:
    assert Capsule(root, robots=Robots(("/search",))).resolve("/robots.txt") == Robots(
        ("/search",)
    )


def test_a_robots_txt_in_the_root_wins(root: Path) -> None:
    write_page(root, "/robots.txt", "User-agent: *\nDisallow: /\n")
    resource = Capsule(root, robots=Robots(("/search",))).resolve("/robots.txt")
    assert isinstance(resource, File)
    assert resource.mime == "text/plain; charset=utf-8"


def test_without_generated_rules_robots_txt_is_not_found(root: Path) -> None:
    assert isinstance(Capsule(root).resolve("/robots.txt"), NotFound)


def test_generated_rules_answer_only_robots_txt(root: Path) -> None:
    capsule = Capsule(root, robots=Robots(()))
    assert isinstance(capsule.resolve("/robots.txt/"), NotFound)
    assert isinstance(capsule.resolve("/a/robots.txt"), NotFound)


def test_meta_rules_apply_to_the_generated_robots_txt(root: Path) -> None:
    write_page(root, "/.meta", "robots.txt gone\n")
    assert isinstance(Capsule(root, robots=Robots(())).resolve("/robots.txt"), Gone)
