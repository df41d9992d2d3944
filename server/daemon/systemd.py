"""systemd integration without libsystemd: service notifications and socket activation."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Iterable, Mapping
from importlib import resources
from itertools import repeat

from server.accesslog import ERROR_LOGGER

LISTEN_FDS_START = 3
"""The first descriptor systemd passes; the others follow it in order."""
_UNNAMED = "unknown"
"""The name systemd gives every passed socket when $LISTEN_FDNAMES is unset."""
_DECIMAL = re.compile(r"[0-9]+")

logger = logging.getLogger(ERROR_LOGGER)


class SocketActivationError(Exception):
    """$LISTEN_PID, $LISTEN_FDS or $LISTEN_FDNAMES is malformed."""


def notify(message: str, environ: Mapping[str, str]) -> bool:
    """Send `message` to systemd's $NOTIFY_SOCKET; False when it is unset.

    Raises OSError if the socket is set but cannot be reached.
    """
    address = environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode("utf-8"))
    return True


def notify_or_warn(environ: Mapping[str, str], message: str) -> None:
    """Send `message` to systemd if it listens; a failure is logged, never raised."""
    try:
        notify(message, environ)
    except OSError as error:
        logger.warning("cannot notify systemd: %s", error)


def ready() -> str:
    """The message for: start-up is complete, the listeners accept connections."""
    return "READY=1"


def reloading() -> str:
    """The message for: a reload has begun; send ready() when it is done."""
    microseconds = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return f"RELOADING=1\nMONOTONIC_USEC={microseconds}"


def stopping() -> str:
    """The message for: shutdown has begun (in-flight requests are draining)."""
    return "STOPPING=1"


def status(text: str) -> str:
    """The message that sets the one-line status `systemctl status` shows."""
    return "STATUS=" + " ".join(text.splitlines())


def listen_fds(environ: Mapping[str, str], name: str | None = None) -> list[socket.socket]:
    """The sockets systemd passed to this process, in order; only those named `name` if given.

    Each call wraps the descriptors in new socket objects, so call it once per name.
    """
    pid = environ.get("LISTEN_PID")
    count = environ.get("LISTEN_FDS")
    if pid is None or count is None:
        return []
    if _decimal(pid, "LISTEN_PID") != os.getpid():
        return []
    fds = range(LISTEN_FDS_START, LISTEN_FDS_START + _decimal(count, "LISTEN_FDS"))
    fd_names: Iterable[str] = repeat(_UNNAMED)
    if "LISTEN_FDNAMES" in environ:
        fd_names = environ["LISTEN_FDNAMES"].split(":")
        if len(fd_names) != len(fds):
            raise SocketActivationError(
                f"LISTEN_FDNAMES has {len(fd_names)} names for {len(fds)} descriptors"
            )
    for fd in fds:
        # Like sd_listen_fds(): the passed descriptors must not leak into child processes.
        os.set_inheritable(fd, False)
    return [
        socket.socket(fileno=fd)
        for fd, fd_name in zip(fds, fd_names, strict=False)
        if name is None or fd_name == name
    ]


UNITS = ("capsule.service", "capsule.socket", "capsule-mirror.socket")
"""The systemd units shipped with the package: the service, and the sockets that systemd
holds for it across restarts (Gemini, and the mirror)."""


def unit_file(name: str = UNITS[0]) -> str:
    """The text of one of the systemd units shipped with the package."""
    if name not in UNITS:
        raise ValueError(f"no unit {name!r}; capsule ships {', '.join(UNITS)}")
    return resources.files("server.daemon").joinpath(name).read_text(encoding="utf-8")


def _decimal(value: str, key: str) -> int:
    """A non-negative decimal integer from an environment variable."""
    if not _DECIMAL.fullmatch(value):
        raise SocketActivationError(f"{key} is not a decimal number: {value!r}")
    return int(value)
