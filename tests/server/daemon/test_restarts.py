"""Restarts and stops as an operator meets them: socket activation keeps every request across
a restart, and a stop with nothing in flight is quick, indexing or not."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from tests.harness import CapsuleProcess
from tests.server.daemon.restart_load import restart_under_load


def test_a_restart_with_sockets_held_by_systemd_loses_no_request(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n")
    outcome = restart_under_load(root, tmp_path / "state", tmp_path / "capsule.log", activated=True)
    assert outcome.gemini_requests > 0 and outcome.gemini_errors == 0
    assert outcome.mirror_requests > 40 and outcome.mirror_failures == []
    assert outcome.requests_during_the_gap >= 1  # they waited in the held socket's queue


def test_a_stop_during_the_first_indexing_exits_within_a_second(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for day in range(1, 29):
        folder = root / "2026" / "02" / f"{day:02d}"
        folder.mkdir(parents=True)
        for number in range(150):
            (folder / f"article-{number}.gmi").write_text(f"# Article {number}\n\nSome text.\n")
    with CapsuleProcess(
        "--root", str(root), "--listen", "127.0.0.1:0", "--no-http",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        capsule.wait_for_log("indexing ")  # the first progress line: 1,000 of 4,200 pages
        assert capsule.process is not None
        signalled = time.monotonic()
        capsule.process.send_signal(signal.SIGTERM)
        assert capsule.process.wait(20) == 0
        assert time.monotonic() - signalled < 1.0


def test_a_stop_is_not_held_up_by_connections_that_send_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n")
    with CapsuleProcess(
        "--root", str(root), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        "--request-timeout", "60", "--drain-timeout", "60",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        assert capsule.process is not None
        silent = [
            socket.create_connection(("127.0.0.1", port))
            for port in (capsule.gemini_port, capsule.http_port)
        ]
        try:
            signalled = time.monotonic()
            capsule.process.send_signal(signal.SIGTERM)
            assert capsule.process.wait(60) == 0
            # A first request still has STOP_GRACE (1 s) to arrive; then the stop goes on.
            assert time.monotonic() - signalled < 5.0
        finally:
            for connection in silent:
                connection.close()
