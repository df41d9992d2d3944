"""Session resumption of a running `capsule serve`: one ticket key per deployment, one ticket
per TLS 1.3 connection, kept across workers and reloads."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.harness import CapsuleProcess, client_context, write_capsule


@dataclass(frozen=True)
class Exchange:
    status: bytes
    session: ssl.SSLSession | None
    reused: bool


def exchange(port: int, context: ssl.SSLContext, session: ssl.SSLSession | None) -> Exchange:
    """One Gemini request over a new connection, offering `session`."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
    ):
        tls.sendall(b"gemini://localhost/\r\n")
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        # A TLS 1.3 ticket arrives after the handshake: the session is known only now.
        return Exchange(data[:2], tls.session, tls.session_reused)


def resumed_share(port: int, connections: int) -> tuple[int, int]:
    """Chain `connections` requests, each offering the previous one's session."""
    context = client_context()
    session = None
    reused = 0
    for _ in range(connections):
        result = exchange(port, context, session)
        assert result.status == b"20"
        reused += result.reused
        session = result.session
    return reused, connections - 1


def serve(tmp_path: Path, *args: str) -> CapsuleProcess:
    root = write_capsule(tmp_path / "capsule")
    return CapsuleProcess(
        "--root",
        str(root),
        "--listen",
        "127.0.0.1:0",
        "--no-http",
        "--requests-per-second",
        "0",
        *args,
        state_dir=tmp_path / "state",
        log_dir=tmp_path,
    )


def test_workers_resume_each_others_sessions(tmp_path: Path) -> None:
    # The kernel spreads connections over both workers; with a key per worker about half of
    # the resumptions would fail.
    with serve(tmp_path, "--workers", "2") as capsule:
        capsule.wait_for_log("ready: 2 workers")
        reused, offered = resumed_share(capsule.gemini_port, 41)
    assert (reused, offered) == (40, 40)


def test_sessions_survive_a_reload(tmp_path: Path) -> None:
    with serve(tmp_path) as capsule:
        context = client_context()
        before = exchange(capsule.gemini_port, context, None)
        assert capsule.process is not None
        capsule.process.send_signal(signal.SIGHUP)
        capsule.wait_for_log("reloaded the configuration")
        after = exchange(capsule.gemini_port, context, before.session)
    assert after.status == b"20"
    assert after.reused


def test_one_session_ticket_per_tls13_connection(tmp_path: Path) -> None:
    with serve(tmp_path) as capsule:
        result = subprocess.run(
            [
                "openssl",
                "s_client",
                "-connect",
                f"127.0.0.1:{capsule.gemini_port}",
                "-servername",
                "localhost",
                "-tls1_3",
                "-msg",
                "-ign_eof",
            ],
            input="gemini://localhost/\r\n",
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    assert "20 text/gemini" in result.stdout
    assert result.stdout.count("NewSessionTicket") == 1
