"""Restoring a capsule from its backup on a new machine, as the README says: the root with
its `.versions`, the configuration and the state directory's `certs/`; the catalog rebuilds
itself and readers' pins still hold."""

from __future__ import annotations

import shutil
from pathlib import Path

import trio
from cryptography import x509

from certs import public_key_fingerprint
from tests.harness import CapsuleProcess, fetch

ARTICLE = "/2026/01/05/hello.gmi"


def write_site(machine: Path) -> Path:
    """A root, a config file naming it and the state directory, all under `machine`."""
    root = machine / "srv" / "capsule"
    (root / "2026" / "01" / "05").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n")
    (root / ARTICLE.lstrip("/")).write_text("# Hello\n")
    (root / ".versions" / "index.gmi").mkdir(parents=True)
    (root / ".versions" / "index.gmi" / "20260105T101500.123456Z").write_text("# Old home\n")
    config = machine / "etc" / "capsule.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'root = "{root}"\nstate_dir = "{machine / "state"}"\nlisten = ["127.0.0.1:0"]\n'
        'hosts = [{ name = "localhost" }]\n[mirror]\nenabled = false\n'
    )
    return config


def served_key_and_archive(config: Path, log_dir: Path) -> tuple[str, bytes]:
    """The public-key fingerprint a reader pins, and the archive page, from a fresh start."""
    state_dir = Path(config.read_text().split('state_dir = "')[1].split('"')[0])
    with CapsuleProcess("--config", str(config), state_dir=state_dir, log_dir=log_dir) as capsule:
        capsule.wait_for_log("index of")
        home = trio.run(fetch, capsule.gemini_port, "gemini://localhost/")
        archive = trio.run(fetch, capsule.gemini_port, "gemini://localhost/archive/2026/01/")
    assert home.status == 20 and home.peer_certificate is not None
    key = public_key_fingerprint(x509.load_der_x509_certificate(home.peer_certificate))
    return key, archive.body


def test_restoring_root_config_and_certs_on_a_new_machine_keeps_the_pinned_key(
    tmp_path: Path,
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    config = write_site(old)
    pinned, archive = served_key_and_archive(config, tmp_path)
    assert ARTICLE.encode() in archive

    # The backup: the root (with .versions), the configuration, the certificates and keys.
    shutil.copytree(old / "srv", new / "srv", symlinks=True)
    (new / "etc").mkdir()
    (new / "etc" / "capsule.toml").write_text(config.read_text().replace(str(old), str(new)))
    (new / "state").mkdir(mode=0o700)
    shutil.copytree(old / "state" / "certs", new / "state" / "certs")
    shutil.rmtree(old)  # the old machine is gone

    restored_key, restored_archive = served_key_and_archive(new / "etc" / "capsule.toml", tmp_path)
    assert restored_key == pinned
    assert restored_archive == archive  # the catalog was rebuilt from the root
    assert (new / "srv" / "capsule" / ".versions" / "index.gmi").is_dir()
    key_file = new / "state" / "certs" / "localhost" / "key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
