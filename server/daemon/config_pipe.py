"""Handing the supervisor's validated config to a worker over a pipe, so no worker re-reads it."""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import AsyncIterator

import trio

from server.settings.config import Config

_LENGTH = struct.Struct("!I")


def send_config(fd: int, config: Config) -> None:
    """Write `config` to the pipe `fd` as one length-prefixed record (blocking)."""
    payload = pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)
    record = memoryview(_LENGTH.pack(len(payload)) + payload)
    while record:
        record = record[os.write(fd, record) :]


async def receive_configs(stream: trio.abc.ReceiveStream) -> AsyncIterator[Config]:
    """Each config the supervisor sends, until it closes the pipe."""
    buffer = bytearray()
    while True:
        while len(buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer)
            if len(buffer) < _LENGTH.size + length:
                break
            # Only our own supervisor writes to this pipe: its records are trusted.
            config = pickle.loads(buffer[_LENGTH.size : _LENGTH.size + length])
            del buffer[: _LENGTH.size + length]
            if not isinstance(config, Config):
                raise TypeError(f"expected a Config from the supervisor, got {type(config)}")
            yield config
        data = await stream.receive_some()
        if not data:
            return
        buffer += data
