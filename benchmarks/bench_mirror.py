"""Throughput and latency of the HTTP mirror: one `capsule serve` process, keep-alive clients.

Run: .venv/bin/python benchmarks/bench_mirror.py [--connections 32] [--seconds 5]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import h11
import trio

PARAGRAPH = (
    "The mirror renders the same gemtext documents as HTML, with every link rewritten to the "
    "mirror path of the same resource, so readers without a Gemini client can browse it.\n"
)


def write_capsule(root: Path) -> None:
    """A small index page and an article of about 20 KB of gemtext."""
    root.mkdir(parents=True)
    (root / "index.gmi").write_text("# Bench\n=> article.gmi An article\n* one\n* two\n")
    sections = []
    while sum(map(len, sections)) < 20_000:
        n = len(sections)
        sections.append(f"## Section {n}\n{PARAGRAPH * 3}=> /index.gmi Home\n* item {n}\n")
    (root / "article.gmi").write_text("# Article\n" + "".join(sections))


def start_server(root: Path, state: Path) -> tuple[subprocess.Popen[str], int]:
    command = [
        sys.executable,
        "-m",
        "server",
        "serve",
        "--root",
        str(root),
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--state-dir",
        str(state),
        "--requests-per-second",
        "0",
        "--max-connections-per-ip",
        "1024",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    for line in process.stderr:
        if " serving http://" in line:
            port = int(line.rsplit(":", 1)[1])
            # Keep draining stderr so the server never blocks on a full pipe.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, port
    raise RuntimeError("capsule serve did not report its mirror URL")


async def client(port: int, target: str, until: float, latencies: list[float]) -> None:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    connection = h11.Connection(h11.CLIENT)
    request = h11.Request(method="GET", target=target, headers=[("Host", "localhost")])
    while trio.current_time() < until:
        started = time.perf_counter()
        await stream.send_all(connection.send(request) + connection.send(h11.EndOfMessage()))
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                assert event.status_code == 200, event
            elif isinstance(event, h11.EndOfMessage):
                break
        latencies.append(time.perf_counter() - started)
        connection.start_next_cycle()
    await stream.aclose()


async def measure(port: int, target: str, connections: int, seconds: float) -> None:
    latencies: list[float] = []
    until = trio.current_time() + seconds
    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(client, port, target, until, latencies)
    latencies.sort()
    rate = len(latencies) / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"{target:<16} {connections:>3} conns  {rate:8.0f} req/s  "
        f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  ({len(latencies)} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "capsule"
        write_capsule(root)
        size = (root / "article.gmi").stat().st_size
        process, port = start_server(root, Path(temp) / "state")
        try:
            print(f"mirror on port {port}, pid {process.pid}; article.gmi is {size} bytes")
            for target in ("/", "/article.html"):
                trio.run(measure, port, target, args.connections, args.seconds)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


if __name__ == "__main__":
    main()
