"""`[[titan]]` tables: reading them, refusing bad ones by key, which roots they open, and what
the upload policy decides from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from capsule.resources import CertificateNotAuthorised, CertificateNotValid, CertificateRequired
from capsule.rules.access import ClientIdentity
from capsule.rules.upload_policy import DEFAULT_MAX_BYTES, UploadPolicy, UploadRule, UploadsClosed
from server.assemble import build_capsules
from server.gemini.site import upload_sites
from server.settings.config import ConfigError, TitanPaths
from server.settings.titan import upload_policy
from tests.server.settings.test_settings import config_from

A, B, C = "a" * 64, "b" * 64, "c" * 64
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def identity(fingerprint: str, days: int = 30) -> ClientIdentity:
    return ClientIdentity(fingerprint, NOW - timedelta(days=1), NOW + timedelta(days=days))


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    news, club = tmp_path / "news", tmp_path / "club"
    for root in (news, club):
        root.mkdir()
        (root / "index.gmi").write_text("# Home\n")
    return news, club


def hosts(news: Path, club: Path) -> str:
    return (
        f'state_dir = "{news.parent / "state"}"\n'
        f'[[hosts]]\nname = "news.example"\nroot = "{news}"\n'
        f'[[hosts]]\nname = "www.news.example"\nroot = "{news}"\n'
        f'[[hosts]]\nname = "club.example"\nroot = "{club}"\n'
        "[index]\nenabled = false\n"
    )


def test_titan_tables_are_read_into_rules(tmp_path: Path, roots: tuple[Path, Path]) -> None:
    config = config_from(
        tmp_path,
        hosts(*roots)
        + f'[[titan]]\npaths = ["/notes/", "/2026/*.gmi"]\nidentities = ["sha256:{A}"]\n'
        + f'[[titan]]\nhost = "Club.Example"\npaths = "/"\nidentities = ["{B.upper()}"]\n'
        + "max_bytes = 2048\nallow_delete = true\n",
    )
    assert config.titan == (
        TitanPaths(UploadRule(("notes/", "2026/*.gmi"), frozenset({A}))),
        TitanPaths(UploadRule(("",), frozenset({B}), 2048, True), "club.example"),
    )
    assert config.titan[0].rule.max_bytes == DEFAULT_MAX_BYTES
    assert config.titan[0].rule.allow_delete is False


def test_no_titan_table_opens_nothing(tmp_path: Path, roots: tuple[Path, Path]) -> None:
    config = config_from(tmp_path, hosts(*roots))
    assert config.titan == ()
    assert upload_sites(config, build_capsules(config)) == {}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (f'paths = ["/x/"]\nidentities = ["{A}"]\nwho = "me"', "{file}: unknown key titan[0].who"),
        (f'identities = ["{A}"]', "titan[0].paths ({file}): None is not a list of path patterns"),
        (f'paths = ["x/"]\nidentities = ["{A}"]',
         "titan[0].paths ({file}): 'x/' is not a path pattern from the root"),
        (f'paths = ["/a/../b/"]\nidentities = ["{A}"]',
         "titan[0].paths ({file}): '/a/../b/' is not a path pattern from the root"),
        ('paths = ["/x/"]', "titan[0].identities ({file}): None is not a list of certificate "
         "fingerprints"),
        ('paths = ["/x/"]\nidentities = []', "titan[0].identities ({file}): lists no fingerprints"),
        ('paths = ["/x/"]\nidentities = "any"',
         "titan[0].identities ({file}): 'any' is not accepted for uploads: anyone can make a "
         "client certificate"),
        (f'paths = ["/x/"]\nidentities = ["{A}", "any"]',
         "titan[0].identities ({file}): 'any' is not accepted for uploads"),
        ('paths = ["/x/"]\nidentities = ["sha256:123"]',
         "titan[0].identities ({file}): 'sha256:123' is not a fingerprint: 3 hex digits"),
        (f'paths = ["/x/"]\nidentities = ["{A}"]\nmax_bytes = 0',
         "titan[0].max_bytes ({file}): 0 must be greater than 0"),
        (f'paths = ["/x/"]\nidentities = ["{A}"]\nmax_bytes = "1M"',
         "titan[0].max_bytes ({file}): '1M' is not an integer"),
        (f'paths = ["/x/"]\nidentities = ["{A}"]\nmax_bytes = 1.5',
         "titan[0].max_bytes ({file}): 1.5 is not an integer"),
        (f'paths = ["/x/"]\nidentities = ["{A}"]\nallow_delete = "yes"',
         "titan[0].allow_delete ({file}): 'yes' is not true or false"),
        (f'paths = ["/x/"]\nidentities = ["{A}"]\nhost = "other.example"',
         "titan[0].host ({file}): 'other.example' is not one of the hosts"),
    ],
)
def test_a_bad_titan_table_is_refused_naming_the_key(
    tmp_path: Path, roots: tuple[Path, Path], table: str, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        config_from(tmp_path, hosts(*roots) + "[[titan]]\n" + table + "\n")
    expected = message.format(file=tmp_path / "capsule.toml")
    assert str(refused.value).startswith(expected), str(refused.value)


def test_titan_must_be_an_array_of_tables(tmp_path: Path, roots: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match=r"titan \(.*\): must be an array of tables"):
        config_from(tmp_path, 'titan = "/notes/"\n' + hosts(*roots))


def test_a_table_for_a_host_opens_its_root_under_every_name(
    tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    config = config_from(
        tmp_path,
        hosts(*roots) + f'[[titan]]\nhost = "news.example"\npaths = ["/"]\nidentities = ["{A}"]\n',
    )
    sites = upload_sites(config, build_capsules(config))
    assert set(sites) == {"news.example", "www.news.example"}
    assert sites["news.example"] is sites["www.news.example"]
    assert not upload_policy(config, roots[1].resolve())


# --- what the policy decides -------------------------------------------------------------------


NOTES = UploadRule(("notes/",), frozenset({A}))
DRAFTS = UploadRule(("notes/drafts/*.gmi",), frozenset({B}), max_bytes=10, allow_delete=True)


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [
        ("/index.gmi", identity(A), UploadsClosed()),
        ("/notes.gmi", identity(A), UploadsClosed()),
        ("/notes/a.gmi", None, CertificateRequired()),
        ("/notes/a.gmi", identity(C), CertificateNotAuthorised()),
        ("/notes/a.gmi", identity(B), CertificateNotAuthorised()),
        ("/notes/a.gmi", identity(A), NOTES),
        ("/notes/deep/er/a.gmi", identity(A), NOTES),
        ("/notes/drafts/x.gmi", identity(A), NOTES),  # both cover it: each admits its own
        ("/notes/drafts/x.gmi", identity(B), DRAFTS),
        ("/notes/drafts/x.txt", identity(B), CertificateNotAuthorised()),
    ],
)
def test_rules_are_grants_each_admitting_its_identities(
    path: str, who: ClientIdentity | None, expected: object
) -> None:
    assert UploadPolicy((NOTES, DRAFTS)).decide(path, who, NOW) == expected


def test_a_certificate_outside_its_dates_is_refused_even_if_listed() -> None:
    expired = ClientIdentity(A, NOW - timedelta(days=30), NOW - timedelta(days=1))
    assert isinstance(UploadPolicy((NOTES,)).decide("/notes/a.gmi", expired, NOW),
                      CertificateNotValid)


def test_a_rule_of_the_root_covers_every_file() -> None:
    rule = UploadRule(("",), frozenset({A}))
    assert rule.covers("/index.gmi") and rule.covers("/a/b/c.png")


def test_a_rule_lists_at_least_one_identity() -> None:
    with pytest.raises(ValueError, match="at least one identity"):
        UploadRule(("notes/",), frozenset())
