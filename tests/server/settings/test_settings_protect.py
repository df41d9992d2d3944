"""`[[protect]]` tables in the configuration file: reading them, refusing bad ones by key, and
which capsules they protect."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.resources import CertificateRequired, Page
from capsule.rules.access import ANY_CERTIFICATE, Protection, ProtectRule
from server.assemble import build_capsules
from server.settings.config import ConfigError, ProtectedPaths
from tests.server.settings.test_settings import config_from

A = "a" * 64
B = "b" * 64


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    news, club = tmp_path / "news", tmp_path / "club"
    for root in (news, club):
        (root / "members").mkdir(parents=True)
        (root / "members" / "index.gmi").write_text("# Members\n")
        (root / "index.gmi").write_text("# Home\n")
    return news, club


def hosts(news: Path, club: Path) -> str:
    return (
        f'state_dir = "{news.parent / "state"}"\n'
        f'[[hosts]]\nname = "news.example"\nroot = "{news}"\n'
        f'[[hosts]]\nname = "www.news.example"\nroot = "{news}"\n'
        f'[[hosts]]\nname = "club.example"\nroot = "{club}"\n'
    )


def test_protect_tables_are_read_into_rules(tmp_path: Path, roots: tuple[Path, Path]) -> None:
    config = config_from(
        tmp_path,
        hosts(*roots)
        + '[[protect]]\npaths = ["/members/", "/drafts/*.gmi"]\nidentities = "any"\n'
        + '[[protect]]\nhost = "Club.Example"\npaths = "/"\n'
        + f'identities = ["sha256:{A}", "{B.upper()}"]\n',
    )
    assert config.protect == (
        ProtectedPaths(
            (ProtectRule("members/", ANY_CERTIFICATE), ProtectRule("drafts/*.gmi", ANY_CERTIFICATE))
        ),
        ProtectedPaths((ProtectRule("", Protection(frozenset({A, B}))),), "club.example"),
    )


def test_no_protect_table_protects_nothing(tmp_path: Path, roots: tuple[Path, Path]) -> None:
    assert config_from(tmp_path, hosts(*roots)).protect == ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('paths = ["/x/"]\nidentities = "any"\nwho = "me"', "{file}: unknown key protect[0].who"),
        ('identities = "any"', "protect[0].paths ({file}): None is not a list of path patterns"),
        ('paths = []\nidentities = "any"',
         "protect[0].paths ({file}): [] is not a list of path patterns"),
        ('paths = ["members/"]\nidentities = "any"',
         "protect[0].paths ({file}): 'members/' is not a path pattern from the root, such as "
         "/members/ (no '.', '..' or empty segments)"),
        ('paths = ["/a/../b/"]\nidentities = "any"',
         "protect[0].paths ({file}): '/a/../b/' is not a path pattern from the root"),
        ('paths = ["/x/"]',
         "protect[0].identities ({file}): None is not \"any\" or a list of certificate "
         "fingerprints"),
        ('paths = ["/x/"]\nidentities = []',
         "protect[0].identities ({file}): no fingerprints (or 'any' for any certificate)"),
        ('paths = ["/x/"]\nidentities = ["sha256:123"]',
         "protect[0].identities ({file}): 'sha256:123' is not a fingerprint: 3 hex digits where "
         "a SHA-256 fingerprint has 64"),
        (f'paths = ["/x/"]\nidentities = ["sha1:{A[:40]}"]',
         f"protect[0].identities ({{file}}): 'sha1:{A[:40]}' is not a fingerprint: only SHA-256 "
         "fingerprints are accepted, not sha1"),
        ('paths = ["/x/"]\nidentities = "anyone"',
         "protect[0].identities ({file}): 'anyone' is not a fingerprint: 'n' is not a hex digit"),
        ('paths = ["/x/"]\nidentities = "any"\nhost = "other.example"',
         "protect[0].host ({file}): 'other.example' is not one of the hosts (news.example, "
         "www.news.example, club.example)"),
    ],
)
def test_a_bad_protect_table_is_refused_naming_the_key(
    tmp_path: Path, roots: tuple[Path, Path], table: str, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        config_from(tmp_path, hosts(*roots) + "[[protect]]\n" + table + "\n")
    expected = message.format(file=tmp_path / "capsule.toml")
    assert str(refused.value).startswith(expected), str(refused.value)


def test_protect_must_be_an_array_of_tables(tmp_path: Path, roots: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match=r"protect \(.*\): must be an array of tables"):
        config_from(tmp_path, 'protect = "/members/"\n' + hosts(*roots))


def test_a_rule_for_a_host_protects_its_root_under_every_name_serving_it(
    tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    config = config_from(
        tmp_path,
        hosts(*roots) + '[[protect]]\nhost = "news.example"\npaths = ["/members/"]\n'
        'identities = "any"\n[index]\nenabled = false\n',
    )
    capsules = build_capsules(config)
    assert capsules["news.example"].resolve("/members/") == CertificateRequired()
    assert capsules["www.news.example"].resolve("/members/") == CertificateRequired()
    assert capsules["club.example"].resolve("/members/") == Page("# Members\n")


def test_a_rule_without_a_host_protects_every_root(
    tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    config = config_from(
        tmp_path,
        hosts(*roots) + '[[protect]]\npaths = ["/members/"]\nidentities = "any"\n',
    )
    capsules = build_capsules(config)
    for name in ("news.example", "club.example"):
        assert capsules[name].resolve("/members/") == CertificateRequired()
        assert capsules[name].resolve("/") == Page("# Home\n")
        publication = capsules[name].publication
        assert publication is not None and publication.access is capsules[name].access
