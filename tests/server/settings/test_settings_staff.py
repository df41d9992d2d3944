"""`publication.staff` in the configuration file: reading it, refusing bad fingerprints by key,
and the capsules it opens drafts to; the operator's redirects withdraw what they cover."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.resources import CertificateNotAuthorised, Page
from server.assemble import build_capsules
from server.settings.config import ConfigError
from tests.identities import new_identity
from tests.server.settings.test_settings import config_from

A = "a" * 64
B = "b" * 64


def hosts(root: Path) -> str:
    state = root.parent / "state"
    return f'state_dir = "{state}"\n[[hosts]]\nname = "localhost"\nroot = "{root}"\n'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "2026" / "11" / "20").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n")
    (root / "2026" / "11" / "20" / "budget.gmi").write_text("Status: draft\n# Budget\n")
    (root / "2026" / "11" / "20" / "old.gmi").write_text("# Old story\n")
    return root


def test_staff_fingerprints_are_read_in_any_written_form(tmp_path: Path, root: Path) -> None:
    pairs = ":".join(B[i : i + 2].upper() for i in range(0, 64, 2))
    config = config_from(
        tmp_path, hosts(root) + f'[publication]\nstaff = ["sha256:{A}", "{pairs}", "{A}"]\n'
    )
    assert config.publication.staff == (A, B)


def test_nobody_is_staff_by_default(tmp_path: Path, root: Path) -> None:
    assert config_from(tmp_path, hosts(root)).publication.staff == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"any"', "publication.staff ({file}): 'any' is not a list of certificate fingerprints"),
        ('["any"]', "publication.staff ({file}): 'any' is not a fingerprint: 'n' is not a hex "
                    "digit"),
        ('["sha256:123"]', "publication.staff ({file}): 'sha256:123' is not a fingerprint: 3 hex "
                           "digits where a SHA-256 fingerprint has 64"),
        ("[1]", "publication.staff ({file}): [1] is not a list of certificate fingerprints"),
    ],
)
def test_a_bad_staff_list_is_refused_naming_the_key(
    tmp_path: Path, root: Path, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        config_from(tmp_path, hosts(root) + f"[publication]\nstaff = {value}\n")
    assert str(refused.value) == message.format(file=tmp_path / "capsule.toml")


def test_the_configured_staff_see_drafts_and_the_redirects_withdraw(
    tmp_path: Path, root: Path
) -> None:
    editor, reader = new_identity("editor"), new_identity("reader")
    config = config_from(
        tmp_path,
        hosts(root) + f'[publication]\nstaff = ["sha256:{editor.fingerprint}"]\n'
        '[redirects]\n"/2026/11/20/old.gmi" = "/"\n',
    )
    capsule = build_capsules(config)["localhost"]
    assert capsule.resolve("/2026/11/20/budget.gmi", identity=editor) == Page("# Budget\n")
    assert capsule.resolve("/2026/11/20/budget.gmi", identity=reader) == (
        CertificateNotAuthorised()
    )
    publication = capsule.publication
    assert publication is not None
    publication.catalog.refresh()
    assert publication.articles() == ()
