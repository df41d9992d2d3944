"""Other programs the tests run for real (Chromium, HAProxy, nginx, Caddy, Pebble, logrotate):
finding them, a free port for them, and stopping them by their PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess

import pytest


def required_program(names: tuple[str, ...], package: str, tests: str) -> str:
    """The first of `names` on the PATH (or in /usr/sbin); a missing program skips the
    `tests` locally and fails them in CI, where `.ci/run` installs Debian's `package`."""
    for name in names:
        if path := shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin"):
            return path
    reason = f"{names[0]} is not installed (apt-get install -y {package})"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the {tests}")
    pytest.skip(reason)


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Signal `process` by its PID and wait for it to exit; kill it if it will not."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
