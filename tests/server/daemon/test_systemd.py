"""systemd integration: notifications over real datagram sockets, socket activation, the unit."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.daemon.cli import main
from server.daemon.systemd import (
    UNITS,
    SocketActivationError,
    listen_fds,
    notify,
    ready,
    reloading,
    status,
    stopping,
    unit_file,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound in tmp_path, and the $NOTIFY_SOCKET value that reaches it."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        yield sock, str(path)


# --- notify --------------------------------------------------------------------------------------


@pytest.mark.parametrize("environ", [{}, {"NOTIFY_SOCKET": ""}])
def test_notify_without_a_socket_returns_false(environ: dict[str, str]) -> None:
    assert notify(ready(), environ) is False


def test_notify_sends_the_message_to_the_socket(notify_socket: tuple[socket.socket, str]) -> None:
    sock, address = notify_socket
    assert notify(ready(), {"NOTIFY_SOCKET": address}) is True
    assert sock.recv(4096) == b"READY=1"


def test_notify_reaches_an_abstract_socket() -> None:
    name = f"capsule-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert notify(stopping(), {"NOTIFY_SOCKET": "@" + name}) is True
        assert sock.recv(4096) == b"STOPPING=1"


def test_notify_to_a_missing_socket_raises(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        notify(ready(), {"NOTIFY_SOCKET": str(tmp_path / "absent")})


def test_reloading_carries_the_monotonic_time() -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = reloading().split("\n")
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert first == "RELOADING=1"
    key, _, value = second.partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_status_is_kept_on_one_line() -> None:
    assert status("serving\nREADY=1") == "STATUS=serving READY=1"


# --- socket activation ---------------------------------------------------------------------------


def own(**variables: str) -> dict[str, str]:
    """Activation variables addressed to this process."""
    return {"LISTEN_PID": str(os.getpid()), **variables}


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"LISTEN_FDS": "2"},
        {"LISTEN_PID": str(os.getpid())},
        {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "2"},
    ],
)
def test_no_sockets_unless_passed_to_this_process(environ: dict[str, str]) -> None:
    assert listen_fds(environ) == []


@pytest.mark.parametrize(
    "environ",
    [
        {"LISTEN_PID": "self", "LISTEN_FDS": "1"},
        {"LISTEN_PID": f" {os.getpid()}", "LISTEN_FDS": "1"},
        own(LISTEN_FDS="-1"),
        own(LISTEN_FDS="two"),
        own(LISTEN_FDS="\u0662"),
        own(LISTEN_FDS="2", LISTEN_FDNAMES="gemini"),
        own(LISTEN_FDS="1", LISTEN_FDNAMES="gemini:mirror"),
    ],
)
def test_malformed_activation_variables_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(SocketActivationError):
        listen_fds(environ)


CHILD = """
import json, os, sys
from server.daemon.systemd import listen_fds

name, sources = sys.argv[1] or None, [int(fd) for fd in sys.argv[2:]]
for index, fd in enumerate(sources):
    os.dup2(fd, 3 + index)
    os.close(fd)
environ = {
    "LISTEN_PID": str(os.getpid()),
    "LISTEN_FDS": str(len(sources)),
    "LISTEN_FDNAMES": "gemini:mirror:gemini",
}
found = [
    {"port": s.getsockname()[1], "type": int(s.type), "inheritable": s.get_inheritable()}
    for s in listen_fds(environ, name)
]
print(json.dumps(found))
"""


def activate(listeners: list[socket.socket], name: str | None) -> list[dict[str, int]]:
    """Run a child that finds `listeners` at descriptors 3.. as systemd leaves them."""
    # Numbers far above 3 so that moving them down onto 3.. in the child overwrites none of them.
    sources = [fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, 100) for sock in listeners]
    try:
        completed = subprocess.run(
            [sys.executable, "-c", CHILD, name or "", *map(str, sources)],
            pass_fds=sources,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    finally:
        for fd in sources:
            os.close(fd)
    result: list[dict[str, int]] = json.loads(completed.stdout)
    return result


@pytest.fixture
def listeners() -> Iterator[list[socket.socket]]:
    """Three listening TCP sockets on loopback, as a .socket unit would pass them."""
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(3)]
    yield sockets
    for sock in sockets:
        sock.close()


def test_passed_sockets_are_found_in_order(listeners: list[socket.socket]) -> None:
    found = activate(listeners, None)
    assert [entry["port"] for entry in found] == [s.getsockname()[1] for s in listeners]
    assert all(entry["type"] == socket.SOCK_STREAM for entry in found)


def test_passed_sockets_are_not_inherited_further(listeners: list[socket.socket]) -> None:
    assert not any(entry["inheritable"] for entry in activate(listeners, None))


def test_sockets_are_picked_by_name(listeners: list[socket.socket]) -> None:
    found = activate(listeners, "gemini")
    ports = [listeners[0].getsockname()[1], listeners[2].getsockname()[1]]
    assert [entry["port"] for entry in found] == ports


# --- the unit ------------------------------------------------------------------------------------


def directives(text: str) -> dict[str, dict[str, str]]:
    """The unit's settings by section; comments and blank lines dropped."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, separator, value = line.partition("=")
        assert separator, f"not a setting: {line!r}"
        assert key not in current, f"{key} set twice"
        current[key] = value
    return sections


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("Service", "Type", "notify"),
        ("Service", "ExecStart", "/usr/local/bin/capsule serve --config /etc/capsule/capsule.toml"),
        ("Service", "ExecReload", "/bin/kill -HUP $MAINPID"),
        ("Service", "Restart", "on-failure"),
        ("Service", "KillMode", "mixed"),
        ("Service", "LimitNOFILE", "65536"),
        ("Service", "DynamicUser", "yes"),
        ("Service", "StateDirectory", "capsule"),
        ("Service", "ProtectSystem", "strict"),
        ("Service", "ProtectHome", "yes"),
        ("Service", "PrivateTmp", "yes"),
        ("Service", "PrivateDevices", "yes"),
        ("Service", "NoNewPrivileges", "yes"),
        ("Service", "CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
        ("Service", "AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
        ("Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("Service", "SystemCallFilter", "@system-service"),
        ("Service", "LockPersonality", "yes"),
        ("Service", "MemoryDenyWriteExecute", "yes"),
        ("Service", "RestrictNamespaces", "yes"),
        ("Service", "ProtectKernelTunables", "yes"),
        ("Service", "ProtectKernelModules", "yes"),
        ("Service", "ProtectControlGroups", "yes"),
        ("Install", "WantedBy", "multi-user.target"),
    ],
)
def test_unit_sets(section: str, key: str, value: str) -> None:
    assert directives(unit_file())[section][key] == value


def test_unit_stop_timeout_outlasts_the_default_drain() -> None:
    timeout = directives(unit_file())["Service"]["TimeoutStopSec"]
    assert float(timeout.removesuffix("s")) > 10 + 1


def test_unit_keeps_content_read_only_and_needs_no_writable_paths() -> None:
    service = directives(unit_file())["Service"]
    assert "ReadOnlyPaths" in service
    assert "ReadWritePaths" not in service


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # verify also checks that ExecStart exists, and capsule is not installed at its final path.
    text = unit_file().replace("/usr/local/bin/capsule", sys.executable)
    (tmp_path / "capsule.service").write_text(text)
    completed = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "capsule.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (completed.returncode, completed.stderr) == (0, "")


@pytest.mark.parametrize(
    ("unit", "name"), [("capsule.socket", "gemini"), ("capsule-mirror.socket", "mirror")]
)
def test_socket_units_pass_their_sockets_to_the_service_by_the_names_it_reads(
    unit: str, name: str
) -> None:
    socket_section = directives(unit_file(unit))["Socket"]
    assert socket_section["FileDescriptorName"] == name
    assert socket_section["Service"] == UNITS[0]
    assert "ListenStream" in socket_section


def test_an_unknown_unit_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"capsule\.timer"):
        unit_file("capsule.timer")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_service_with_its_sockets(tmp_path: Path) -> None:
    for unit in UNITS:
        text = unit_file(unit).replace("/usr/local/bin/capsule", sys.executable)
        (tmp_path / unit).write_text(text)
    completed = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (completed.returncode, completed.stderr) == (0, "")


def test_the_command_prints_each_unit(capsys: pytest.CaptureFixture[str]) -> None:
    for unit in UNITS:
        assert main(["systemd-unit", unit]) == 0
        assert capsys.readouterr().out == unit_file(unit)
