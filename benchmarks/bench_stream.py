"""Streaming benchmark: serve a 1 GB file and watch the server's resident memory.

Starts `capsule serve` on a temporary capsule holding a sparse 1 GB file, downloads it over
Gemini while sampling the server's VmRSS from /proc, and prints idle RSS, peak RSS during the
transfer, and throughput. Usage: python benchmarks/bench_stream.py [--size-mb 1024]
"""

from __future__ import annotations

import argparse
import signal
import ssl
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).parent))

from bench_gemini import start_capsule


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def download(port: int, pid: int) -> tuple[int, int, float]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    tls = trio.SSLStream(tcp, context, server_hostname="localhost")
    await tls.send_all(b"gemini://localhost/big.bin\r\n")
    received = 0
    peak = 0
    started = time.perf_counter()
    while chunk := await tls.receive_some(1 << 20):
        received += len(chunk)
        if received % (32 << 20) < len(chunk):
            peak = max(peak, rss_kib(pid))
    elapsed = time.perf_counter() - started
    await tls.aclose()
    return received, peak, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "root"
        root.mkdir()
        (root / "index.gmi").write_text("# Stream\n")
        with (root / "big.bin").open("wb") as big:
            big.truncate(args.size_mb << 20)
        process, port = start_capsule(root, Path(temp) / "state")
        try:
            idle = rss_kib(process.pid)
            received, peak, elapsed = trio.run(download, port, process.pid)
            after = rss_kib(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    mb = received / (1 << 20)
    print(
        f"file {args.size_mb} MiB, received {mb:.0f} MiB in {elapsed:.1f}s "
        f"({mb / elapsed:.0f} MiB/s)"
    )
    print(
        f"server RSS: idle {idle / 1024:.1f} MiB, peak during transfer {peak / 1024:.1f} MiB, "
        f"after {after / 1024:.1f} MiB (peak/idle = {peak / idle:.2f})"
    )


if __name__ == "__main__":
    main()
