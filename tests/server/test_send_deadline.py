"""The socket stream of both servers: straight reads and writes, waits, fairness, failures."""

from __future__ import annotations

import socket
import struct

import pytest
import trio

from server.send_deadline import UNYIELDED_CALLS, SendDeadlineStream, SendTimeout


def stream_pair(timeout: float = 5.0) -> tuple[SendDeadlineStream, trio.SocketStream]:
    """A real socket pair: our stream on one side, a plain trio stream on the other."""
    ours, theirs = trio.socket.socketpair()
    return SendDeadlineStream(trio.SocketStream(ours), timeout), trio.SocketStream(theirs)


async def test_a_receive_waits_for_bytes_and_ends_when_the_peer_closes() -> None:
    stream, peer = stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(peer.send_all, b"request")
        assert await stream.receive_some(100) == b"request"
    await peer.aclose()
    assert await stream.receive_some(100) == b""
    await stream.aclose()


class _Steps(trio.abc.Instrument):
    """Counts the times a task is resumed by the scheduler: each one follows a yield."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.count = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.count += 1


async def test_calls_the_kernel_completes_at_once_still_yield_to_the_scheduler() -> None:
    stream, peer = stream_pair()
    await peer.send_all(b"x" * UNYIELDED_CALLS)
    steps = _Steps(trio.lowlevel.current_task())
    trio.lowlevel.add_instrument(steps)
    try:
        for _ in range(UNYIELDED_CALLS - 1):
            assert await stream.receive_some(1) == b"x"
        assert steps.count == 0  # nothing waited: no trip through the scheduler
        await stream.receive_some(1)
        assert steps.count == 1
    finally:
        trio.lowlevel.remove_instrument(steps)
    await stream.aclose()
    await peer.aclose()


async def test_a_send_to_a_peer_that_takes_nothing_times_out() -> None:
    stream, peer = stream_pair(timeout=0.2)
    waited: list[bool] = []
    stream.before_waiting = lambda: waited.append(True)
    with pytest.raises(SendTimeout), trio.fail_after(5):
        await stream.send_all(b"x" * 8 * 1024 * 1024)
    assert waited == [True]
    await stream.aclose()
    await peer.aclose()


async def test_a_reset_is_a_broken_stream_and_a_closed_one_says_so() -> None:
    stream, peer = stream_pair()
    peer.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await stream.send_all(b"unread")
    await peer.aclose()
    with pytest.raises(trio.BrokenResourceError):
        await stream.receive_some(100)
    await stream.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await stream.receive_some(100)
