"""Test harness: a minimal Gemini client over real TLS, and the in-process server handle."""

from __future__ import annotations

import os
import re
import resource
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from server.gemini.server import GeminiServer
from server.settings.config import Config


@dataclass(frozen=True)
class Response:
    """What the server sent and how the connection ended."""

    header: bytes
    body: bytes
    close_notify: bool
    peer_certificate: bytes | None

    @property
    def status(self) -> int:
        return int(self.header[:2])

    @property
    def meta(self) -> str:
        return self.header[3:].decode()


def client_context(maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context that accepts self-signed certificates, as Gemini clients do (TOFU)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = maximum
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


async def open_tls(
    port: int,
    server_name: str = "localhost",
    address: str = "127.0.0.1",
    source: str | None = None,
) -> trio.SSLStream[trio.SocketStream]:
    """Connect (from the local address `source`, if given) and complete the TLS handshake."""
    tcp = await trio.open_tcp_stream(address, port, local_address=source)
    tls = trio.SSLStream(tcp, client_context(), server_hostname=server_name)
    await tls.do_handshake()
    return tls


async def read_response(tls: trio.SSLStream[trio.SocketStream]) -> Response:
    """Read until the server closes; note whether it sent close_notify."""
    data = bytearray()
    close_notify = True
    while True:
        try:
            chunk = await tls.receive_some(65536)
        except trio.BrokenResourceError:
            close_notify = False
            break
        if not chunk:
            break
        data += chunk
    certificate = tls.getpeercert(binary_form=True)
    await trio.aclose_forcefully(tls)
    header, _, body = bytes(data).partition(b"\r\n")
    return Response(header, body, close_notify, certificate)


async def fetch(
    port: int,
    request: str | bytes,
    server_name: str = "localhost",
    address: str = "127.0.0.1",
    source: str | None = None,
) -> Response:
    """Send one request line (CRLF added to str requests) and read the whole response."""
    line = (request + "\r\n").encode() if isinstance(request, str) else request
    with trio.fail_after(10):
        tls = await open_tls(port, server_name, address, source)
        await tls.send_all(line)
        return await read_response(tls)


@dataclass
class RunningServer:
    """A Gemini server serving inside the test's nursery."""

    port: int
    server: GeminiServer
    config: Config
    shutdown: trio.Event


StartServer = Callable[..., Awaitable[RunningServer]]


def write_capsule(root: Path) -> Path:
    """A small capsule with a page, a directory, a text file and an unknown file."""
    (root / "docs").mkdir(parents=True)
    (root / "index.gmi").write_text("# Welcome\n=> docs/ Docs\n")
    (root / "docs" / "index.gmi").write_text("# Docs\n")
    (root / "notes.txt").write_text("plain text\n")
    (root / "data.bin").write_bytes(bytes(range(256)))
    return root


class CapsuleProcess:
    """A real `capsule serve` subprocess on loopback, stopped by its PID on exit."""

    def __init__(
        self,
        *args: str,
        state_dir: Path,
        log_dir: Path,
        env: dict[str, str] | None = None,
        open_files: tuple[int, int] | None = None,
    ) -> None:
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.open_files = open_files
        """(soft, hard) RLIMIT_NOFILE to start the process with."""
        self.state_dir = state_dir
        self.stdout_path = log_dir / "capsule.stdout"
        self.stderr_lines: list[str] = []
        self.urls: list[str] = []
        self._ready = threading.Event()
        workers = args[args.index("--workers") + 1] if "--workers" in args else "1"
        self._ready_line = " ready" if workers == "1" else f" ready: {workers} workers"
        """What the log says once every process serves: each worker says "ready" alone."""
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> CapsuleProcess:
        command = [sys.executable, "-m", "server", "serve", "--state-dir", str(self.state_dir)]
        with self.stdout_path.open("w") as stdout:
            self.process = subprocess.Popen(
                [*command, *self.args],
                stdout=stdout,
                stderr=subprocess.PIPE,
                text=True,
                env=self.env,
                preexec_fn=self._set_limits if self.open_files else None,
            )
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if not self._ready.wait(30) or not self.urls:
            self.stop()
            raise RuntimeError("capsule serve did not start:\n" + "".join(self.stderr_lines))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def gemini_port(self) -> int:
        """The port of the first Gemini listener."""
        match = re.search(r"gemini://\S+ on \S+:(\d+)$", self.urls[0])
        assert match, self.urls
        return int(match.group(1))

    @property
    def http_port(self) -> int:
        """The port of the first HTTP mirror listener."""
        for url in self.urls:
            if url.startswith("http://"):
                return int(url.rsplit(":", 1)[1])
        raise AssertionError(f"no mirror listener in {self.urls}")

    def worker_pids(self) -> list[int]:
        """Process ids of the workers that logged their listeners, in order."""
        pids = [
            int(m.group(1))
            for line in self.stderr_lines
            if (m := re.search(r"\[(\d+)\] INFO serving ", line))
        ]
        return list(dict.fromkeys(pids))

    def wait_for_log(self, text: str, timeout: float = 10, count: int = 1) -> None:
        """Block until `count` stderr lines contain `text`."""
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.stderr_lines) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in:\n" + "".join(self.stderr_lines))
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process by its PID and return its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                return self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def _set_limits(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, self.open_files or (-1, -1))

    def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_lines.append(line)
            if " serving " in line:
                self.urls.append(line.split(" serving ", 1)[1].strip())
            if line.rstrip().endswith(self._ready_line) or self.process.poll() is not None:
                self._ready.set()
        self._ready.set()


def write_page(root: Path, path: str, text: str) -> Path:
    """Write `text` at URL path `path` under a capsule root, making directories."""
    file = root / path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    return file


def capsule_command(*args: str) -> subprocess.CompletedProcess[str]:
    """Run one `capsule` command to completion, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def refuse_opening(monkeypatch: pytest.MonkeyPatch, locked: Path) -> None:
    """Make opening `locked` fail as an unreadable file does. The tests may run as root,
    whom file modes do not stop, so the open itself is refused."""
    real_open = trio.open_file

    async def refuse(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path).resolve() == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return await real_open(path, *args, **kwargs)

    monkeypatch.setattr(trio, "open_file", refuse)


def fail_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every file opened from now on fail its reads with EIO, as a dying disk does."""
    real_open = trio.open_file

    class FailingRead:
        def __init__(self, opened: Any) -> None:
            self.opened = opened

        async def read(self, size: int = -1) -> bytes:
            raise OSError(5, "Input/output error")

        async def aclose(self) -> None:
            await self.opened.aclose()

    async def open_failing(path: Any, *args: Any, **kwargs: Any) -> Any:
        return FailingRead(await real_open(path, *args, **kwargs))

    monkeypatch.setattr(trio, "open_file", open_failing)


class HeldListings:
    """Generated directory listings that wait, in whichever thread builds them, until the test
    lets them go (or `HOLD` seconds pass, which the test then sees as a failure): while they
    wait, a test can show what else is served. Counts how many ever ran at once."""

    HOLD = 10.0

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import capsule.root

        self._build = capsule.root.directory_listing
        self._condition = threading.Condition()
        self._released = threading.Event()
        self.running = self.most_at_once = self.started = 0
        self.timed_out = 0
        """Listings that stopped waiting because nobody let them go."""
        monkeypatch.setattr(capsule.root, "directory_listing", self._held)

    def _held(self, *args: Any) -> str:
        with self._condition:
            self.started += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self._condition.notify_all()
        if not self._released.wait(self.HOLD):
            self.timed_out += 1
        with self._condition:
            self.running -= 1
        return self._build(*args)

    async def wait_started(self, count: int) -> None:
        """Until `count` listings have started, whichever thread they run in."""
        def wait() -> None:
            with self._condition:
                self._condition.wait_for(lambda: self.started >= count, self.HOLD)

        await trio.to_thread.run_sync(wait)

    def release(self) -> None:
        """Let every listing, waiting or to come, go on."""
        self._released.set()
