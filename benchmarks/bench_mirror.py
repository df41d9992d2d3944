"""Throughput, latency, bytes and server CPU per request of the HTTP mirror: one `capsule serve`
process, keep-alive clients, each page asked for as it is and gzipped, in the same run.

Run: .venv/bin/python benchmarks/bench_mirror.py [--connections 32] [--seconds 5] [--articles N]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import h11
import trio
from make_capsule import make_capsule

TARGETS = ("/", "/article.html", "/archive/2026/", "/sitemap.xml", "/atom.xml",
           "/_capsule/style.css")
CODINGS = ("identity", "gzip")

PARAGRAPH = (
    "The mirror renders the same gemtext documents as HTML, with every link rewritten to the "
    "mirror path of the same resource, so readers without a Gemini client can browse it.\n"
)


def write_capsule(root: Path, articles: int) -> None:
    """A news capsule of `articles` dated articles, and an article of about 20 KB of gemtext."""
    make_capsule(articles, root)
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
        "--base-url",
        "https://example.org/",
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


async def client(
    port: int, target: str, coding: str, until: float, latencies: list[float], sizes: list[int]
) -> None:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    connection = h11.Connection(h11.CLIENT)
    headers = [("Host", "localhost"), ("Accept-Encoding", coding)]
    request = h11.Request(method="GET", target=target, headers=headers)
    while trio.current_time() < until:
        started = time.perf_counter()
        await stream.send_all(connection.send(request) + connection.send(h11.EndOfMessage()))
        size = 0
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                assert event.status_code == 200, event
            elif isinstance(event, h11.Data):
                size += len(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
        latencies.append(time.perf_counter() - started)
        sizes.append(size)
        connection.start_next_cycle()
    await stream.aclose()


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Result:
    target: str
    coding: str
    rate: float
    p50: float
    p99: float
    bytes: int
    cpu_ms: float


async def measure(
    pid: int, port: int, target: str, coding: str, connections: int, seconds: float
) -> Result:
    latencies: list[float] = []
    sizes: list[int] = []
    # One request first: what is made once (a page, its gzip body) is made outside the count.
    await client(port, target, coding, trio.current_time() + 0.001, [], [])
    cpu = cpu_seconds(pid)
    until = trio.current_time() + seconds
    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(client, port, target, coding, until, latencies, sizes)
    used = cpu_seconds(pid) - cpu
    latencies.sort()
    return Result(
        target,
        coding,
        len(latencies) / seconds,
        statistics.median(latencies) * 1000,
        latencies[int(len(latencies) * 0.99) - 1] * 1000,
        sizes[0],
        used / len(latencies) * 1000,
    )


async def wait_for_catalog(port: int, articles: int) -> None:
    """Until the sitemap lists every article: the catalog is built in the background."""
    while True:
        body = bytearray()
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        connection = h11.Connection(h11.CLIENT)
        headers = [("Host", "localhost")]
        request = h11.Request(method="GET", target="/sitemap.xml", headers=headers)
        await stream.send_all(connection.send(request) + connection.send(h11.EndOfMessage()))
        while not isinstance(event := connection.next_event(), h11.EndOfMessage):
            if event is h11.NEED_DATA:
                connection.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Data):
                body += event.data
        await stream.aclose()
        if body.count(b"<url>") >= articles:
            return
        await trio.sleep(0.5)  # a benchmark polling the server, not a test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--articles", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "capsule"
        write_capsule(root, args.articles)
        size = (root / "article.gmi").stat().st_size
        process, port = start_server(root, Path(temp) / "state")
        try:
            print(f"mirror on port {port}, pid {process.pid}; {args.articles} articles, "
                  f"article.gmi is {size} bytes")
            trio.run(wait_for_catalog, port, args.articles)
            results = {}
            for target in TARGETS:
                for coding in CODINGS:
                    result = trio.run(
                        measure, process.pid, port, target, coding, args.connections,
                        args.seconds,
                    )
                    results[target, coding] = result
                    print(
                        f"{target:<20} {coding:<8} {result.bytes:>9} B  {result.rate:7.0f} req/s"
                        f"  p50 {result.p50:6.2f} ms  p99 {result.p99:6.2f} ms"
                        f"  CPU {result.cpu_ms:6.3f} ms/req"
                    )
            print("\ngzip / identity, same run:")
            for target in TARGETS:
                plain, packed = results[target, "identity"], results[target, "gzip"]
                print(
                    f"{target:<20} bytes {packed.bytes / plain.bytes:5.3f}"
                    f"  CPU per request {packed.cpu_ms / plain.cpu_ms:5.2f}"
                    f"  req/s {packed.rate / plain.rate:5.2f}"
                )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


if __name__ == "__main__":
    main()
