"""The real `capsule serve` and `capsule cert` commands, run as subprocesses."""

from __future__ import annotations

import hashlib
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import trio

from certs import ensure_identity
from tests.harness import (
    CapsuleProcess,
    capsule_command,
    client_context,
    fetch,
    open_tls,
    read_response,
)

LOCAL = ("--listen", "127.0.0.1:0", "--no-http")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_openssl_s_client_reads_the_demo_index(tmp_path: Path, state_dir: Path) -> None:
    with CapsuleProcess(*LOCAL, state_dir=state_dir, log_dir=tmp_path) as capsule:
        result = subprocess.run(
            [
                "openssl",
                "s_client",
                "-connect",
                f"127.0.0.1:{capsule.gemini_port}",
                "-servername",
                "localhost",
                "-quiet",
                "-verify_quiet",
            ],
            input=b"gemini://localhost/\r\n",
            capture_output=True,
            timeout=30,
            check=False,
        )
    assert result.stdout.startswith(b"20 text/gemini; charset=utf-8\r\n")
    assert b"# capsule" in result.stdout


def test_default_root_is_the_demo_and_certificate_lands_in_state_dir(
    tmp_path: Path, state_dir: Path
) -> None:
    with CapsuleProcess(*LOCAL, state_dir=state_dir, log_dir=tmp_path) as capsule:
        response = trio.run(fetch, capsule.gemini_port, "gemini://localhost/")
    assert response.status == 20
    assert b"=> about.gmi" in response.body or b"about.gmi" in response.body
    key = state_dir / "certs" / "localhost" / "key.pem"
    assert key.stat().st_mode & 0o777 == 0o600


def test_certificate_is_reused_across_restarts(tmp_path: Path, state_dir: Path) -> None:
    seen = []
    for _ in range(2):
        with CapsuleProcess(*LOCAL, state_dir=state_dir, log_dir=tmp_path) as capsule:
            seen.append(trio.run(fetch, capsule.gemini_port, "gemini://localhost/"))
    assert seen[0].peer_certificate == seen[1].peer_certificate


def test_access_log_has_one_line_per_request(tmp_path: Path, state_dir: Path) -> None:
    with CapsuleProcess(*LOCAL, state_dir=state_dir, log_dir=tmp_path) as capsule:
        trio.run(fetch, capsule.gemini_port, "gemini://localhost/")
        trio.run(fetch, capsule.gemini_port, "gemini://localhost/missing.gmi")
        assert capsule.stop() == 0
    lines = capsule.stdout_path.read_text().splitlines()
    assert len(lines) == 2
    pattern = r"^\S+Z gemini 127\.0\.0\.1 localhost (\S+) (\d\d) (\d+) [\d.]+ms$"
    parsed = [re.match(pattern, line) for line in lines]
    assert all(parsed), lines
    assert [(m.group(1), m.group(2)) for m in parsed if m] == [("/", "20"), ("/missing.gmi", "51")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_lets_the_in_flight_request_finish_then_exits_0(
    tmp_path: Path, state_dir: Path, sig: signal.Signals
) -> None:
    with CapsuleProcess(*LOCAL, state_dir=state_dir, log_dir=tmp_path) as capsule:

        async def request_across_the_signal() -> bytes:
            tls = await open_tls(capsule.gemini_port)
            await tls.send_all(b"gemini://localhost/")
            assert capsule.process is not None
            capsule.process.send_signal(sig)
            await trio.to_thread.run_sync(capsule.wait_for_log, "stopping")
            await tls.send_all(b"\r\n")
            return (await read_response(tls)).header

        header = trio.run(request_across_the_signal)
        assert capsule.process is not None
        assert capsule.process.wait(20) == 0
    assert header.startswith(b"20 ")


def test_connections_not_yet_accepted_at_a_stop_signal_are_served(
    tmp_path: Path, state_dir: Path
) -> None:
    """Connections the kernel completed but the server had not accepted when SIGTERM came
    (a balancer's, sent just before its health check noticed) are answered, not reset."""
    with CapsuleProcess(*LOCAL, state_dir=state_dir, log_dir=tmp_path) as capsule:
        assert capsule.process is not None
        capsule.process.send_signal(signal.SIGSTOP)
        waiting = [socket.create_connection(("127.0.0.1", capsule.gemini_port)) for _ in range(20)]
        capsule.process.send_signal(signal.SIGTERM)
        capsule.process.send_signal(signal.SIGCONT)

        async def request(connection: socket.socket, statuses: list[int | None]) -> None:
            tcp = trio.SocketStream(trio.socket.from_stdlib_socket(connection))
            tls = trio.SSLStream(tcp, client_context(), server_hostname="localhost")
            try:
                await tls.send_all(b"gemini://localhost/\r\n")
                statuses.append((await read_response(tls)).status)
            except trio.BrokenResourceError:
                statuses.append(None)

        async def requests() -> list[int | None]:
            statuses: list[int | None] = []
            with trio.fail_after(20):
                async with trio.open_nursery() as nursery:
                    for connection in waiting:
                        nursery.start_soon(request, connection, statuses)
            return statuses

        statuses = trio.run(requests)
        assert capsule.process.wait(20) == 0
    assert statuses == [20] * len(waiting)


def test_bad_listen_value_is_refused_naming_the_option(state_dir: Path) -> None:
    result = capsule_command("serve", "--state-dir", str(state_dir), "--listen", "127.0.0.1:http")
    assert result.returncode == 2
    assert "--listen" in result.stderr and "127.0.0.1:http" in result.stderr


def _openssl_fingerprint(arguments: list[str], cert: Path) -> str:
    output = subprocess.run(
        ["openssl", "x509", "-in", str(cert), *arguments],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return output.decode()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_cert_command_prints_both_fingerprints(state_dir: Path) -> None:
    ensure_identity("example.org", state_dir)
    result = capsule_command("cert", "--state-dir", str(state_dir), "--host", "example.org")
    assert result.returncode == 0, result.stderr
    cert = state_dir / "certs" / "example.org" / "cert.pem"
    full = _openssl_fingerprint(["-noout", "-fingerprint", "-sha256"], cert)
    expected_cert = full.split("=", 1)[1].strip().replace(":", "").lower()
    pubkey = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "DER"],
        input=pubkey,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    expected_key = hashlib.sha256(der).hexdigest()
    assert "example.org" in result.stdout
    assert expected_cert in result.stdout
    assert expected_key in result.stdout


def test_cert_command_refuses_a_host_without_a_certificate(state_dir: Path) -> None:
    result = capsule_command("cert", "--state-dir", str(state_dir), "--host", "nosuch.example")
    assert result.returncode == 2
    assert "nosuch.example: no certificate" in result.stderr
    assert not (state_dir / "certs" / "nosuch.example").exists()


def open_file_limits(pid: int) -> tuple[int, int]:
    line = next(
        line for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
        if line.startswith("Max open files")
    )
    soft, hard = line.split()[3:5]
    return int(soft), int(hard)


def test_soft_open_file_limit_is_raised_to_the_hard_one(tmp_path: Path, state_dir: Path) -> None:
    with CapsuleProcess(
        *LOCAL, state_dir=state_dir, log_dir=tmp_path, open_files=(256, 4096)
    ) as capsule:
        assert capsule.process is not None
        assert open_file_limits(capsule.process.pid) == (4096, 4096)
        assert not any("open-file limit" in line for line in capsule.stderr_lines)


def test_connection_caps_are_lowered_to_fit_the_open_file_limit(
    tmp_path: Path, state_dir: Path
) -> None:
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        state_dir=state_dir, log_dir=tmp_path, open_files=(320, 320),
    ) as capsule:
        response = trio.run(fetch, capsule.gemini_port, "gemini://localhost/")
    assert response.status == 20
    warnings = [line for line in capsule.stderr_lines if "open-file limit" in line]
    assert len(warnings) == 1
    assert "the open-file limit is 320" in warnings[0]
    assert "lowering limits.max_connections from 1024 to 64" in warnings[0]
