"""The floor of an HTTP/1.1 server on trio, for bench_mirror.py: keep-alive, a plain split at
the blank line, and the export's file for the path with a fixed head; no checks, no log, no
cache. It reads and writes the socket as the mirror does (straight system calls, waiting in
trio only when the kernel has nothing). What the mirror spends beyond this is its own work;
what this spends beyond nginx is Python's and trio's.

Run: python benchmarks/http_floor.py PORT SITE_DIRECTORY
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import trio

HEAD = (
    "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Type: text/html; charset=utf-8\r\n"
    "Cache-Control: public, max-age=60\r\nContent-Length: {length}\r\n\r\n"
)


def responses(site: Path) -> dict[bytes, bytes]:
    """Every HTML file of the export as a whole response, by its path."""
    answers = {}
    for file in site.rglob("*.html"):
        body = file.read_bytes()
        answers[b"/" + str(file.relative_to(site)).encode()] = (
            HEAD.format(length=len(body)).encode() + body
        )
    return answers


def serve(port: int, site: Path) -> None:
    answers = responses(site)
    missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    async def handle(stream: trio.SocketStream) -> None:
        fd = stream.socket.fileno()
        data = b""
        try:
            while True:
                while b"\r\n\r\n" not in data:
                    try:
                        chunk = os.read(fd, 16384)
                    except BlockingIOError:
                        await trio.lowlevel.wait_readable(fd)
                        continue
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                answer = memoryview(answers.get(path, missing))
                while answer:
                    try:
                        answer = answer[os.write(fd, answer):]
                    except BlockingIOError:
                        await trio.lowlevel.wait_writable(fd)
        except OSError:
            pass  # the client is gone; serve_tcp closes the stream

    trio.run(partial(trio.serve_tcp, handle, port, host="127.0.0.1"))


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
