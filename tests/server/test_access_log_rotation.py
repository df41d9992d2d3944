"""A rotated access log: after `mv`, SIGUSR1 or SIGHUP makes every worker write a new file."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import trio

from tests.harness import CapsuleProcess, capsule_command, write_page
from tests.programs import required_program
from tests.server.mirror.mirror_client import fetch

REQUESTS = 12


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for_lines(path: Path, count: int) -> list[str]:
    """The file's lines once it has `count` of them: lines go out in batches, a moment late."""
    deadline = time.monotonic() + 10
    while len(lines := lines_of(path)) < count:
        assert time.monotonic() < deadline, lines
        time.sleep(0.02)
    return lines


def paths(lines: list[str]) -> list[str]:
    return sorted(line.split()[4] for line in lines)


def paths_of(prefix: str) -> list[str]:
    return sorted(f"/{prefix}-{number}.html" for number in range(REQUESTS))


def request_all(port: int, prefix: str) -> None:
    async def run() -> None:
        for number in range(REQUESTS):
            await fetch(port, f"/{prefix}-{number}.html", headers=[("Connection", "close")])

    trio.run(run)


@pytest.mark.parametrize(
    ("workers", "sig"),
    [(1, signal.SIGUSR1), (1, signal.SIGHUP), (2, signal.SIGUSR1), (2, signal.SIGHUP)],
    ids=["one-process-usr1", "one-process-hup", "workers-usr1", "workers-hup"],
)
def test_after_a_rename_and_a_signal_lines_go_to_a_new_file(
    tmp_path: Path, workers: int, sig: signal.Signals
) -> None:
    root = tmp_path / "root"
    write_page(root, "index.gmi", "# Home\n")
    log = tmp_path / "access.log"
    with CapsuleProcess(
        "--root", str(root), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        "--workers", str(workers), "--access-log", str(log), "--access-log-flush", "0.05",
        "--requests-per-second", "0",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        request_all(capsule.http_port, "before")
        wait_for_lines(log, REQUESTS)
        log.rename(tmp_path / "access.log.1")
        assert capsule.process is not None
        capsule.process.send_signal(sig)
        capsule.wait_for_log("access log reopened", count=workers)
        request_all(capsule.http_port, "after")
        after = wait_for_lines(log, REQUESTS)
    rotated = lines_of(tmp_path / "access.log.1")
    assert paths(rotated) == paths_of("before")
    assert paths(after) == paths_of("after")
    assert capsule.stdout_path.read_text() == ""


def test_an_access_log_that_cannot_be_opened_stops_the_start(tmp_path: Path) -> None:
    result = capsule_command(
        "serve", "--state-dir", str(tmp_path / "state"), "--access-log", str(tmp_path / "no" / "x")
    )
    assert result.returncode == 2
    assert "logging.access_log: cannot open" in result.stderr


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "logrotate.conf"
README = Path(__file__).resolve().parents[2] / "README.md"


def logrotate_executable() -> str:
    """The logrotate executable; a missing one skips locally and fails in CI."""
    return required_program(("logrotate",), "logrotate", "rotation tests")


def test_logrotate_with_the_example_config_rotates_a_running_capsule(tmp_path: Path) -> None:
    executable = logrotate_executable()
    root = tmp_path / "root"
    write_page(root, "index.gmi", "# Home\n")
    log = tmp_path / "access.log"
    with CapsuleProcess(
        "--root", str(root), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        "--workers", "2", "--access-log", str(log), "--access-log-flush", "0.05",
        "--requests-per-second", "0",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        assert capsule.process is not None
        # The example as it is, with this log's path and the signal sent to this capsule.
        config = tmp_path / "logrotate.conf"
        config.write_text(
            EXAMPLE.read_text()
            .replace("/var/log/capsule/access.log", str(log))
            .replace(
                "systemctl kill --kill-whom=main --signal=USR1 capsule.service",
                f"kill -USR1 {capsule.process.pid}",
            )
        )
        request_all(capsule.http_port, "before")
        wait_for_lines(log, REQUESTS)
        subprocess.run(
            [executable, "--force", "--state", str(tmp_path / "state.txt"), str(config)],
            check=True, timeout=30,
        )
        capsule.wait_for_log("access log reopened", count=2)
        request_all(capsule.http_port, "after")
        after = wait_for_lines(log, REQUESTS)
    assert paths(lines_of(tmp_path / "access.log.1")) == paths_of("before")
    assert paths(after) == paths_of("after")


def test_readme_shows_the_logrotate_example() -> None:
    block = README.read_text().split("```logrotate\n", 1)[1].split("```", 1)[0]
    assert block == EXAMPLE.read_text()
