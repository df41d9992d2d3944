"""Running as a daemon: config files, SIGHUP reload, workers, systemd, PROXY protocol."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from cryptography import x509

from certs import certificate_fingerprint, create_self_signed, read_certificate
from tests.harness import (
    CapsuleProcess,
    Response,
    capsule_command,
    client_context,
    fetch,
    open_tls,
    read_response,
)


def request(capsule: CapsuleProcess, path: str = "/") -> Response:
    return trio.run(fetch, capsule.gemini_port, f"gemini://localhost{path}")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "index.gmi").write_text("# Version one\n")
    return root


def serving(
    tmp_path: Path, root: Path, *flags: str, env: dict[str, str] | None = None
) -> CapsuleProcess:
    """`capsule serve` of `root` on a free loopback port, Gemini only."""
    return CapsuleProcess(
        "--listen",
        "127.0.0.1:0",
        "--no-http",
        "--root",
        str(root),
        *flags,
        state_dir=tmp_path / "state",
        log_dir=tmp_path,
        env=env,
    )


def write_config(path: Path, root: Path, top_level: str = "", limits: str = "") -> Path:
    path.write_text(
        f'root = "{root}"\nlisten = ["127.0.0.1:0"]\n{top_level}\n'
        f"[mirror]\nenabled = false\n[limits]\nrequests_per_second = 0\n{limits}\n"
    )
    return path


def test_bad_config_file_stops_startup_naming_the_key(tmp_path: Path, root: Path) -> None:
    config = tmp_path / "capsule.toml"
    config.write_text(f'root = "{root}"\n[limits]\nrequest_timeout = "soon"\n')
    result = capsule_command(
        "serve", "--config", str(config), "--state-dir", str(tmp_path / "state")
    )
    assert result.returncode == 2
    assert "limits.request_timeout" in result.stderr and "'soon'" in result.stderr


def test_reload_applies_the_new_config_without_losing_a_request(tmp_path: Path, root: Path) -> None:
    config = write_config(tmp_path / "capsule.toml", root)
    with CapsuleProcess(
        "--config", str(config), state_dir=tmp_path / "state", log_dir=tmp_path
    ) as capsule:
        statuses: list[int] = []

        async def load_across_reloads() -> None:
            async def client() -> None:
                for _ in range(40):
                    statuses.append(
                        (await fetch(capsule.gemini_port, "gemini://localhost/")).status
                    )

            async with trio.open_nursery() as nursery:
                for _ in range(4):
                    nursery.start_soon(client)
                for _ in range(3):
                    assert capsule.process is not None
                    capsule.process.send_signal(signal.SIGHUP)
                    await trio.sleep(0.2)

        write_config(config, root, top_level='lang = "de"')
        trio.run(load_across_reloads)
        capsule.wait_for_log("reloaded the configuration")
        assert statuses == [20] * 160
        assert request(capsule).header == b"20 text/gemini; charset=utf-8; lang=de"


def test_bad_config_on_reload_is_reported_and_the_old_one_keeps_serving(
    tmp_path: Path, root: Path
) -> None:
    config = write_config(tmp_path / "capsule.toml", root)
    with CapsuleProcess(
        "--config", str(config), state_dir=tmp_path / "state", log_dir=tmp_path
    ) as capsule:
        write_config(config, root, limits="max_connections = -5")
        assert capsule.process is not None
        capsule.process.send_signal(signal.SIGHUP)
        capsule.wait_for_log("reload refused")
        assert request(capsule).status == 20
    assert any("limits.max_connections" in line for line in capsule.stderr_lines)


def test_reload_picks_up_renewed_certificate_files(tmp_path: Path, root: Path) -> None:
    pair = tmp_path / "certs" / "localhost"
    pair.mkdir(parents=True)
    create_self_signed(["localhost"], pair / "cert.pem", pair / "key.pem")
    first = certificate_fingerprint(read_certificate(pair / "cert.pem"))
    with serving(tmp_path, root, "--cert-dir", str(tmp_path / "certs")) as capsule:
        before = request(capsule).peer_certificate
        for name in ("cert.pem", "key.pem"):
            (pair / name).unlink()
        create_self_signed(["localhost"], pair / "cert.pem", pair / "key.pem")
        renewed = certificate_fingerprint(read_certificate(pair / "cert.pem"))
        assert capsule.process is not None
        capsule.process.send_signal(signal.SIGHUP)
        capsule.wait_for_log("reloaded the configuration")
        after = request(capsule).peer_certificate
    assert before is not None and after is not None
    assert certificate_fingerprint(x509.load_der_x509_certificate(before)) == first
    assert certificate_fingerprint(x509.load_der_x509_certificate(after)) == renewed


def test_killed_worker_is_replaced_and_service_continues(tmp_path: Path, root: Path) -> None:
    with serving(tmp_path, root, "--workers", "2") as capsule:
        capsule.wait_for_log("ready: 2 workers")
        workers = capsule.worker_pids()
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        capsule.wait_for_log("starting a new one")
        capsule.wait_for_log("ready: 2 workers", count=2)
        assert all(request(capsule).status == 20 for _ in range(20))
        assert capsule.stop() == 0


def test_workers_refuse_a_port_another_capsules_workers_hold(tmp_path: Path, root: Path) -> None:
    # Workers bind with SO_REUSEPORT: without a check, a second capsule would share the port.
    with serving(tmp_path, root, "--workers", "2") as first:
        first.wait_for_log("ready: 2 workers")
        second = capsule_command(
            "serve", "--listen", f"127.0.0.1:{first.gemini_port}", "--no-http",
            "--root", str(root), "--workers", "2", "--state-dir", str(tmp_path / "second"),
        )
        assert request(first).status == 20
    assert second.returncode == 2
    assert f"listen: cannot bind 127.0.0.1:{first.gemini_port}" in second.stderr


def test_workers_get_the_config_the_supervisor_read_once(tmp_path: Path, root: Path) -> None:
    config = write_config(tmp_path / "capsule.toml", root, top_level="workers = 2")
    with CapsuleProcess(
        "--config", str(config), state_dir=tmp_path / "state", log_dir=tmp_path
    ) as capsule:
        capsule.wait_for_log("ready: 2 workers")
        assert capsule.process is not None
        # A bad file is refused once, by the supervisor, and no worker reads it on its own.
        write_config(config, root, top_level="workers = 2", limits="max_connections = -5")
        capsule.process.send_signal(signal.SIGHUP)
        capsule.wait_for_log("reload refused")
        write_config(config, root, top_level='workers = 2\nlang = "de"')
        capsule.process.send_signal(signal.SIGHUP)
        capsule.wait_for_log("reloaded the configuration", count=2)
        workers = capsule.worker_pids()
        headers = {request(capsule).header for _ in range(20)}
    refusals = [line for line in capsule.stderr_lines if "reload refused" in line]
    assert len(refusals) == 1
    assert f"[{capsule.process.pid}]" in refusals[0]
    reloaded = [line for line in capsule.stderr_lines if "reloaded the configuration" in line]
    assert sorted(int(line.split("[")[1].split("]")[0]) for line in reloaded) == sorted(workers)
    assert headers == {b"20 text/gemini; charset=utf-8; lang=de"}


def test_workers_stop_together_on_sigterm(tmp_path: Path, root: Path) -> None:
    with serving(tmp_path, root, "--workers", "2") as capsule:
        capsule.wait_for_log("ready: 2 workers")
        workers = capsule.worker_pids()
        assert capsule.stop() == 0
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_readiness_and_stopping_are_sent_to_systemd(tmp_path: Path, root: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify_socket:
        notify_socket.bind(str(notify_path))
        notify_socket.settimeout(20)
        with serving(tmp_path, root, env={"NOTIFY_SOCKET": str(notify_path)}) as capsule:
            # The first refresh runs beside the start: its status may come before readiness.
            first, second = sorted(notify_socket.recv(4096).decode() for _ in range(2))
            assert first.startswith("READY=1\nSTATUS=serving gemini://")
            assert second == "STATUS=serving 0 articles"
            capsule.stop()
            assert notify_socket.recv(4096) == b"STOPPING=1"


def test_proxy_protocol_header_gives_the_real_client_address(tmp_path: Path, root: Path) -> None:
    with serving(tmp_path, root, "--proxy-protocol") as capsule:

        async def through_balancer() -> Response:
            tcp = await trio.open_tcp_stream("127.0.0.1", capsule.gemini_port)
            await tcp.send_all(b"PROXY TCP4 203.0.113.7 192.0.2.1 40000 1965\r\n")
            tls = trio.SSLStream(tcp, client_context(), server_hostname="localhost")
            await tls.send_all(b"gemini://localhost/\r\n")
            return await read_response(tls)

        assert trio.run(through_balancer).status == 20
        direct = trio.run(_without_header, capsule.gemini_port)
        assert capsule.stop() == 0
    assert direct is True
    log = capsule.stdout_path.read_text()
    assert " 203.0.113.7 localhost / 20 " in log


async def _without_header(port: int) -> bool:
    """A client that skips the PROXY header is refused before TLS."""
    try:
        tls = await open_tls(port)
    except trio.BrokenResourceError:
        return True
    await trio.aclose_forcefully(tls)
    return False


def test_systemd_unit_command_prints_the_shipped_unit() -> None:
    result = capsule_command("systemd-unit")
    assert "Type=notify" in result.stdout and "ProtectSystem=strict" in result.stdout


def test_check_command_reports_broken_links_and_fails(tmp_path: Path, root: Path) -> None:
    (root / "about.gmi").write_text("# About\n\n=> /missing.gmi Gone page\n")
    result = capsule_command("check", "--root", str(root), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "about.gmi:3: error: broken link to /missing.gmi" in result.stdout


def test_check_command_reports_bad_meta_lines(tmp_path: Path, root: Path) -> None:
    (root / ".meta").write_text("*.gmi lang=fr\nold.gmi colour=blue\n")
    result = capsule_command("check", "--root", str(root), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 1
    assert ".meta:2: error: unknown key 'colour'" in result.stdout
    assert "1 file checked, 1 error, 0 warnings" in result.stdout


def test_check_command_passes_a_clean_capsule(tmp_path: Path, root: Path) -> None:
    result = capsule_command("check", "--root", str(root), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 0, result.stdout


# Puts the passed listening socket on descriptor 3 and sets LISTEN_PID to its own pid, as
# systemd does, then becomes `capsule` (exec keeps the pid).
SOCKET_ACTIVATION = """
import os, sys
os.dup2(int(sys.argv[1]), 3)
os.close(int(sys.argv[1]))
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.executable, [sys.executable, "-m", "server", *sys.argv[2:]])
"""


def test_socket_activation_serves_on_the_passed_socket(tmp_path: Path, root: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SOCKET_ACTIVATION,
                str(listener.fileno()),
                "serve",
                "--root",
                str(root),
                "--state-dir",
                str(tmp_path / "state"),
                "--no-http",
                "--listen",
                "127.0.0.1:1",
            ],
            env={**os.environ, "LISTEN_FDS": "1", "LISTEN_FDNAMES": "gemini"},
            pass_fds=(listener.fileno(),),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.rstrip().endswith(" ready"):
                break
        response = trio.run(fetch, port, f"gemini://localhost:{port}/")
        assert response.status == 20
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0


def test_proxy_header_from_an_untrusted_peer_is_refused(tmp_path: Path, root: Path) -> None:
    with serving(tmp_path, root, "--proxy-protocol", "--trusted-proxy", "192.0.2.0/24") as capsule:

        async def spoofing_client() -> bytes:
            tcp = await trio.open_tcp_stream("127.0.0.1", capsule.gemini_port)
            await tcp.send_all(b"PROXY TCP4 203.0.113.7 192.0.2.1 40000 1965\r\n")
            try:
                return await tcp.receive_some(1024)
            except trio.BrokenResourceError:
                return b""

        assert trio.run(spoofing_client) == b""
        capsule.wait_for_log("not a trusted proxy")
