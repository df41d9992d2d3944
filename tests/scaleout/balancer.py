"""HAProxy for the scale-out tests: the shipped example config, run as a real process."""

from __future__ import annotations

import csv
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from string import Template

from tests.programs import free_port, required_program, stop_process

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "haproxy.cfg"
"""The config the README shows; the tests run this very file, so the two cannot drift."""
BACKEND = "capsules"


def haproxy_executable() -> str:
    """The haproxy executable; a missing one skips locally and fails in CI."""
    return required_program(("haproxy",), "haproxy", "scale-out tests")


class HAProxy:
    """HAProxy balancing 127.0.0.1:`port` over replicas on loopback, stopped by its PID.

    Its config, written to `directory`, is the example config with the addresses filled in,
    after a `global` section that opens the runtime API on a Unix socket for the tests."""

    def __init__(self, directory: Path, replica_ports: Sequence[int]) -> None:
        self.executable = haproxy_executable()
        self.port = free_port()
        self.stats_socket = directory / "stats.sock"
        self.config_path = directory / "haproxy.cfg"
        self.log_path = directory / "haproxy.log"
        addresses = {f"CAPSULE{n}": f"127.0.0.1:{port}" for n, port in enumerate(replica_ports, 1)}
        example = Template(EXAMPLE_CONFIG.read_text())
        self.config_path.write_text(
            f"global\n    stats socket {self.stats_socket} level admin\n\n"
            + example.substitute(GEMINI_LISTEN=f"127.0.0.1:{self.port}", **addresses)
        )
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> HAProxy:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.executable, "-db", "-f", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait(lambda: set(self.statuses().values()) == {"UP"})
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Signal HAProxy by its PID and wait for it to exit."""
        assert self.process is not None
        stop_process(self.process)

    def command(self, line: str) -> str:
        """One command on HAProxy's runtime API, and its whole answer."""
        with socket.socket(socket.AF_UNIX) as api:
            api.settimeout(5)
            api.connect(str(self.stats_socket))
            api.sendall(line.encode() + b"\n")
            answer = bytearray()
            while chunk := api.recv(65536):
                answer += chunk
        return answer.decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` for the backend: a row per replica by server name, and "BACKEND" for
        the whole (its retries `wretr` and redispatches `wredis`)."""
        table = self.command("show stat").lstrip("# ")
        return {
            row["svname"]: row
            for row in csv.DictReader(table.splitlines())
            if row["pxname"] == BACKEND
        }

    def statuses(self) -> dict[str, str]:
        """What HAProxy's health checks make of each replica: UP, DOWN..."""
        try:
            rows = self.stats()
        except OSError:
            return {}
        return {name: row["status"] for name, row in rows.items() if name != "BACKEND"}

    def wait_for_status(self, server: str, status: str, timeout: float = 15) -> None:
        """Block until HAProxy reports `server` in `status`."""
        self._wait(lambda: self.statuses().get(server) == status, timeout)

    def _wait(self, condition: Callable[[], bool], timeout: float = 15) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"HAProxy: condition not met; statuses {self.statuses()}, log:\n"
                    + self.log_path.read_text()
                )
            time.sleep(0.05)
