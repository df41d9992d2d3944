"""A restart of `capsule serve` under steady load on both protocols, with the test as the
socket holder that systemd is: it binds the sockets, passes them to each `capsule serve` it
starts (descriptors 3 and on, $LISTEN_FDS, $LISTEN_PID, $LISTEN_FDNAMES), and counts what
the readers lose while one process stops and the next starts."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import trio

from tests.harness import fetch

REPOSITORY = Path(__file__).resolve().parents[3]
GEMLOAD_SOURCES = [
    base / "shared" / "tools" / "gemload" for base in (REPOSITORY.parent, REPOSITORY.parents[1])
]
FIRST_PASSED_FD = 3


def gemload(build_dir: Path) -> Path | None:
    """The gemload load generator: a built one beside its sources, else built into
    `build_dir` when a C compiler is there; None without it."""
    for sources in GEMLOAD_SOURCES:
        if os.access(sources / "gemload", os.X_OK):
            return sources / "gemload"
    for sources in GEMLOAD_SOURCES:
        if (sources / "gemload.c").exists() and shutil.which("gcc"):
            binary = build_dir / "gemload"
            command = ["gcc", "-O2", "-o", str(binary), str(sources / "gemload.c")]
            built = subprocess.run(
                [*command, "-lssl", "-lcrypto", "-lpthread"], capture_output=True, check=False
            )
            if built.returncode == 0:
                return binary
    return None


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    return sock


class Server:
    """One `capsule serve` process: given the held sockets (activated), or binding its ports
    itself; started by `__init__`, ready when it returns."""

    def __init__(
        self,
        ports: dict[str, int],
        held: dict[str, socket.socket] | None,
        args: list[str],
        log: Path,
    ) -> None:
        command = [sys.executable, "-m", "server", "serve", *args]
        if held is None:
            command += ["--listen", f"127.0.0.1:{ports['gemini']}"]
            command += ["--http", f"127.0.0.1:{ports['mirror']}"]
        fds = [sock.fileno() for sock in (held or {}).values()]
        names = ":".join(held or {})

        def pass_sockets() -> None:
            # In the child, between fork and exec: what systemd does for its service.
            copies = [os.dup(fd) for fd in fds]
            for number, copy in enumerate(copies, start=FIRST_PASSED_FD):
                os.dup2(copy, number)
            os.environ.update(
                LISTEN_FDS=str(len(fds)), LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES=names
            )

        self.stderr = log.open("a")
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=pass_sockets if held else None,
            pass_fds=tuple(range(FIRST_PASSED_FD, FIRST_PASSED_FD + len(fds))),
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.write(line)
            if line.rstrip().endswith((" ready", "workers")) and "ready" in line:
                break
        else:
            raise AssertionError(f"capsule serve did not start; see {log}")
        threading.Thread(target=self._copy_stderr, daemon=True).start()

    def stop(self) -> int:
        """SIGTERM by its PID; its exit status once it has drained."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def _copy_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.write(line)


@dataclass
class MirrorReader:
    """Reads the mirror's home page over and over, a new connection each time."""

    port: int
    done: int = 0
    failed: list[str] = field(default_factory=list)
    started: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    progress: threading.Condition = field(default_factory=threading.Condition)

    def run(self) -> None:
        while not self.stop.is_set():
            self.started.append(time.monotonic())
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
            try:
                connection.request("GET", "/", headers={"Host": "localhost"})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    self.failed.append(f"status {response.status}")
            except OSError as error:
                self.failed.append(repr(error))
            finally:
                connection.close()
            with self.progress:
                self.done += 1
                self.progress.notify_all()

    def wait_for(self, count: int) -> None:
        with self.progress:
            assert self.progress.wait_for(lambda: self.done >= count, timeout=30)


@dataclass
class GeminiReaders:
    """Gemini requests for `seconds`: gemload if it is there, else Python clients."""

    port: int
    seconds: float
    binary: Path | None
    requests: int = 0
    errors: int = 0

    def run(self) -> None:
        if self.binary is not None:
            command = [str(self.binary), "-q", "-j", "-c", "2", "-d", str(self.seconds)]
            command += ["-a", f"127.0.0.1:{self.port}", "gemini://localhost/"]
            result = subprocess.run(command, capture_output=True, text=True, check=True)
            summary = json.loads(result.stdout.strip().splitlines()[-1])
            self.requests, self.errors = summary["requests"], summary["errors"]
            return
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            self.requests += 1
            try:
                if trio.run(fetch, self.port, "gemini://localhost/").status != 20:
                    self.errors += 1
            except (OSError, trio.TooSlowError, trio.BrokenResourceError):
                self.errors += 1


@dataclass(frozen=True)
class Outcome:
    gemini_requests: int
    gemini_errors: int
    mirror_requests: int
    mirror_failures: list[str]
    requests_during_the_gap: int
    """Mirror requests made between the stop signal and the new process being ready."""
    gap_seconds: float


def restart_under_load(
    root: Path, state_dir: Path, log: Path, *, activated: bool, seconds: float = 8.0
) -> Outcome:
    """Serve `root`, restart once under load from both protocols, and count the losses."""
    gemini, mirror = listening_socket(), listening_socket()
    ports = {"gemini": gemini.getsockname()[1], "mirror": mirror.getsockname()[1]}
    held = {"gemini": gemini, "mirror": mirror} if activated else None
    if not activated:
        gemini.close()
        mirror.close()
    args = ["--root", str(root), "--state-dir", str(state_dir), "--requests-per-second", "0"]
    args += ["--workers", "2", "--max-connections-per-ip", "1024"]
    first = Server(ports, held, args, log)
    readers = MirrorReader(ports["mirror"])
    load = GeminiReaders(ports["gemini"], seconds, gemload(log.parent))
    threads = [threading.Thread(target=readers.run), threading.Thread(target=load.run)]
    for thread in threads:
        thread.start()
    try:
        readers.wait_for(20)
        stopping = time.monotonic()
        first.stop()
        second = Server(ports, held, args, log)
        back = time.monotonic()
        readers.wait_for(readers.done + 20)
    finally:
        readers.stop.set()
        for thread in threads:
            thread.join()
    second.stop()
    for sock in (held or {}).values():
        sock.close()
    return Outcome(
        load.requests,
        load.errors,
        readers.done,
        readers.failed,
        sum(stopping <= moment <= back for moment in readers.started),
        back - stopping,
    )
