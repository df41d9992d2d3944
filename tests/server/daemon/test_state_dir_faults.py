"""A state directory capsule cannot write: a clear line and exit 1, or serving without a catalog."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import trio

from tests.harness import CapsuleProcess, capsule_command, fetch, write_page
from tests.server.gemini.test_publication_live import eventually

LOCAL = ("--listen", "127.0.0.1:0", "--no-http")


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make `directory` unwritable even for root (the tests may run as root): file modes for
    other users, the immutable attribute of the file system for root."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    subprocess.run(["chattr", "+i", str(directory)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_unwritable_state_directory_is_one_line_and_exit_1(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with read_only(state):
        result = capsule_command("serve", *LOCAL, "--state-dir", str(state))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"capsule: state directory {state}: ")
    assert "capsule needs to write the self-signed certificate of localhost under certs/" in line
    assert "Traceback" not in result.stderr


def test_read_only_state_with_certificates_serves_without_the_catalog(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with CapsuleProcess(*LOCAL, state_dir=state, log_dir=tmp_path, env={}) as first:
        assert trio.run(fetch, first.gemini_port, "gemini://localhost/").status == 20
    # Only the certificates are kept: the catalog must be made again, and cannot be.
    for leftover in (state / "index").iterdir():
        leftover.unlink()
    (state / "index").rmdir()
    with read_only(state), CapsuleProcess(*LOCAL, state_dir=state, log_dir=tmp_path) as capsule:
        page = trio.run(fetch, capsule.gemini_port, "gemini://localhost/")
        search = trio.run(fetch, capsule.gemini_port, "gemini://localhost/search?x")
        archive = trio.run(fetch, capsule.gemini_port, "gemini://localhost/archive/")
    assert page.status == 20
    assert search.status == 51 and archive.status == 51
    warnings = [line for line in capsule.stderr_lines if "without search" in line]
    assert len(warnings) == 1
    assert f"capsule needs to create and write {state / 'index'}" in warnings[0]


def test_a_state_directory_deleted_while_serving_is_made_again(tmp_path: Path) -> None:
    """Feeds and search keep answering, and a new article still reaches them."""
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Home\n")
    write_page(root, "/2026/01/01/first.gmi", "# First article\n")
    state = tmp_path / "state"
    with CapsuleProcess(
        *LOCAL, "--root", str(root), "--index-interval", "0.2", "--full-index-interval", "1",
        state_dir=state, log_dir=tmp_path,
    ) as capsule:

        def gemini(path: str) -> tuple[int, str]:
            response = trio.run(fetch, capsule.gemini_port, f"gemini://localhost{path}")
            return response.status, response.body.decode()

        eventually(lambda: "First article" in gemini("/feed.gmi")[1])
        shutil.rmtree(state)
        write_page(root, "/2026/01/02/second.gmi", "# Second article\n")
        eventually(lambda: "Second article" in gemini("/feed.gmi")[1])
        assert "First article" in gemini("/search?article")[1]
        assert gemini("/atom.xml")[0] == 20
    assert (state / "index").is_dir()
    assert not [line for line in capsule.stderr_lines if "Traceback" in line]
