"""The metrics listener: HTTP/1.1 on trio and h11, answering `GET /metrics` and nothing else."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

import h11
import trio

from server.accesslog import ERROR_LOGGER
from server.listening import accept_until
from server.metrics.exposition import CONTENT_TYPE, render

logger = logging.getLogger(ERROR_LOGGER)

METRICS_PATH = b"/metrics"
_RECEIVE_BYTES = 8 * 1024
_MAX_HEAD_BYTES = 8 * 1024
_REQUEST_TIMEOUT = 5.0
"""Seconds a scraper has to send its request: enough for Prometheus, short for anyone else."""
_DRAIN_TIMEOUT = 1.0
_TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError)


class MetricsListener:
    """Serves the metrics of every process sharing `directory`, one request per connection."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def serve(self, listeners: Sequence[trio.SocketListener], shutdown: trio.Event) -> None:
        """Answer scrapes until `shutdown`."""
        await accept_until(listeners, self.handle_connection, shutdown, lambda: _DRAIN_TIMEOUT)

    async def handle_connection(self, stream: trio.SocketStream) -> None:
        """Read one request and answer it; a scraper that misbehaves is simply closed."""
        try:
            with trio.move_on_after(_REQUEST_TIMEOUT):
                await self._exchange(stream, h11.Connection(h11.SERVER, _MAX_HEAD_BYTES))
        except _TRANSPORT_ERRORS:
            pass
        except Exception:
            logger.exception("answering a metrics scrape failed")
        finally:
            await trio.aclose_forcefully(stream)

    async def _exchange(self, stream: trio.SocketStream, connection: h11.Connection) -> None:
        event = connection.next_event()
        while event is h11.NEED_DATA:
            connection.receive_data(await stream.receive_some(_RECEIVE_BYTES))
            event = connection.next_event()
        if not isinstance(event, h11.Request):
            return
        status, content_type, body = 404, b"text/plain; charset=utf-8", b"Not found\n"
        if event.method not in (b"GET", b"HEAD"):
            status, body = 405, b"Method not allowed\n"
        elif event.target.split(b"?", 1)[0] == METRICS_PATH:
            # Reading every process's files is disk work: off the event loop.
            status, content_type = 200, CONTENT_TYPE.encode("ascii")
            body = await trio.to_thread.run_sync(render, self.directory)
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ]
        if status == 405:
            headers.append((b"allow", b"GET, HEAD"))
        data = connection.send(h11.Response(status_code=status, headers=headers))
        if event.method != b"HEAD":
            data += connection.send(h11.Data(data=body))
        data += connection.send(h11.EndOfMessage())
        with contextlib.suppress(*_TRANSPORT_ERRORS):
            await stream.send_all(data)
