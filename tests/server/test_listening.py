"""Accepting connections: running out of descriptors pauses accepts and is logged sparingly."""

from __future__ import annotations

import errno
import logging
import socket

import pytest
import trio
import trio.testing

from server.listening import accept_until


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    """Virtual time that jumps ahead whenever every task waits: seconds pass in no time."""
    return trio.testing.MockClock(autojump_threshold=0)


class ExhaustedListener:
    """A listener whose accepts fail with EMFILE, as when the process has no descriptor left.
    Its socket is real, listening, with no connection waiting."""

    def __init__(self) -> None:
        self.attempts = 0
        idle = socket.create_server(("127.0.0.1", 0))
        self.socket = trio.socket.from_stdlib_socket(idle)

    async def accept(self) -> trio.SocketStream:
        self.attempts += 1
        await trio.lowlevel.checkpoint()
        raise OSError(errno.EMFILE, "Too many open files")

    async def aclose(self) -> None:
        self.socket.close()
        await trio.lowlevel.checkpoint()


async def test_descriptor_exhaustion_is_retried_and_logged_at_most_once_a_second(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    caplog.set_level(logging.WARNING, "capsule")
    listener = ExhaustedListener()
    shutdown = trio.Event()

    async def handler(stream: trio.SocketStream) -> None:
        raise AssertionError("no connection was accepted")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            accept_until, [listener], handler, shutdown, lambda: 0.0  # type: ignore[arg-type]
        )
        await trio.sleep(3.5)
        shutdown.set()
    warnings = [r for r in caplog.records if "accept failed" in r.getMessage()]
    assert listener.attempts >= 30  # it kept trying every 0.1 s
    assert len(warnings) == 4  # at 0, 1, 2 and 3 seconds
