"""Gemini load benchmark: server CPU per request, requests/s and latency on one core.

Starts `capsule serve` pinned to CPU 0 and, in the same minute, a bare trio TLS server that
answers every connection with a fixed response (the floor: TCP + TLS + trio, no capsule logic).
Every request is a new TCP+TLS connection, as in Gemini. The client is the C load generator
gemload (../shared/tools/gemload, built with its build.sh when missing) pinned to CPU 1, for a
small page and a 20 KB article, with and without session resumption; without gemload, a Python
client in this process, which cannot saturate the server (CPU per request stays comparable).
Usage: python benchmarks/bench_gemini.py [--seconds 5] [--concurrency 1 16 64] [--rounds 3]
[--workers 1] [--python]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import trio

SMALL_PAGE = "# Small page\n\nA short paragraph of gemtext.\n=> / Home\n"
ARTICLE_BYTES = 20 * 1024
GEMLOAD = Path(__file__).resolve().parent.parent.parent / "shared" / "tools" / "gemload"

BARE_SERVER = r"""
import sys, trio
from certs import HostContexts, ensure_identity, session_context
from server.tls_stream import TLSStream
from pathlib import Path
hosts = HostContexts({"localhost": ensure_identity("localhost", Path(sys.argv[1]))}, "localhost")
session = session_context()
BODY = b"20 text/gemini\r\n" + sys.argv[2].encode()
async def handle(stream):
    tls = TLSStream(stream, session, hosts)
    try:
        await tls.do_handshake()
        await tls.receive_some(16384)
        await tls.send_last(BODY)
        await tls.aclose()
    except trio.BrokenResourceError:
        await trio.aclose_forcefully(tls)
async def main():
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    print("port", listeners[0].socket.getsockname()[1], flush=True)
    await trio.serve_listeners(handle, listeners)
trio.run(main)
"""
OPENSSL_CONF = Path(__file__).resolve().parent.parent / "server" / "daemon" / "openssl.cnf"
"""What the `capsule` command gives OpenSSL (one TLS 1.3 ticket): the bare server gets it too."""


def client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def one_request(port: int, context: ssl.SSLContext, path: str = "/") -> bool:
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    tls = trio.SSLStream(tcp, context, server_hostname="localhost")
    try:
        await tls.send_all(f"gemini://localhost{path}\r\n".encode())
        data = b""
        while chunk := await tls.receive_some(65536):
            data += chunk
        return data.startswith(b"20 ")
    finally:
        await trio.aclose_forcefully(tls)


async def load(
    port: int, concurrency: int, seconds: float, path: str = "/"
) -> tuple[float, list[float], int]:
    context = client_context()
    latencies: list[float] = []
    errors = 0
    deadline = trio.current_time() + seconds

    async def worker() -> None:
        nonlocal errors
        while trio.current_time() < deadline:
            started = time.perf_counter()
            try:
                ok = await one_request(port, context, path)
            except (trio.BrokenResourceError, OSError):
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
    return time.perf_counter() - started, latencies, errors


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process and its children (workers) have used so far."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *map(int, children.read_text().split())] if children.exists() else [pid]
    total = 0
    for each in pids:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pinned(command: list[str], cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if shutil.which("taskset") else command


def serve_command(root: Path, state: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """`capsule serve` on loopback, Gemini only, with per-client limits out of the way."""
    return [
        sys.executable,
        "-m",
        "server",
        "serve",
        "--root",
        str(root),
        "--state-dir",
        str(state),
        "--listen",
        "127.0.0.1:0",
        "--no-http",
        "--requests-per-second",
        "0",
        "--max-connections-per-ip",
        "10000",
        *extra,
    ]


def start_capsule(
    root: Path, state: Path, extra: tuple[str, ...] = (), cpu: int | None = 0
) -> tuple[subprocess.Popen[str], int]:
    """Start `capsule serve` (pinned to `cpu` unless None); return it and its Gemini port."""
    command = serve_command(root, state, extra)
    process = subprocess.Popen(
        command if cpu is None else pinned(command, cpu),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    several = "--workers" in extra
    for line in process.stderr:
        if " serving gemini://" in line:
            port = int(line.rsplit(":", 1)[1])
        if (" ready: " in line) if several else line.rstrip().endswith(" ready"):
            return process, port
    raise RuntimeError("capsule serve did not start")


def start_bare(state: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        pinned([sys.executable, "-c", BARE_SERVER, str(state), SMALL_PAGE], 0),
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENSSL_CONF": str(OPENSSL_CONF)},
    )
    assert process.stdout is not None
    port = int(process.stdout.readline().split()[1])
    return process, port


def report(
    name: str, concurrency: int, elapsed: float, latencies: list[float], errors: int
) -> float:
    rate = len(latencies) / elapsed
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(
        f"{name:8} c={concurrency:<3} {rate:8.0f} req/s  p50 {p50:6.2f} ms  "
        f"p99 {p99:6.2f} ms  errors {errors}"
    )
    return rate


def gemload_binary() -> Path | None:
    """The gemload executable, built on first use if its sources are there."""
    binary = GEMLOAD / "gemload"
    if not binary.exists() and (GEMLOAD / "build.sh").exists():
        subprocess.run(["sh", str(GEMLOAD / "build.sh")], capture_output=True, check=False)
    return binary if binary.exists() else None


def gemload_run(
    binary: Path, port: int, path: str, concurrency: int, seconds: float, resume: bool
) -> dict[str, object]:
    """One gemload run pinned to CPU 1; its JSON summary."""
    command = [str(binary), "-q", "-j", "-c", str(concurrency), "-d", str(seconds)]
    command += ["-r"] if resume else []
    command.append(f"gemini://localhost:{port}{path}")
    result = subprocess.run(pinned(command, 1), capture_output=True, text=True, check=True)
    summary: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def article_text() -> str:
    """A 20 KB article of plain paragraphs."""
    paragraph = "Gemini capsules publish plain text, and readers fetch it over TLS. " * 8
    text = "# A longer article\n\n"
    while len(text) < ARTICLE_BYTES:
        text += paragraph + "\n\n"
    return text


@contextlib.contextmanager
def capsule_and_bare(
    pages: dict[str, str], extra: tuple[str, ...] = ()
) -> Iterator[tuple[subprocess.Popen[str], int, subprocess.Popen[str], int]]:
    """capsule serving `pages` (name -> gemtext) and the bare TLS server, both on CPU 0."""
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "root"
        root.mkdir()
        for name, text in pages.items():
            (root / name).write_text(text)
        capsule, capsule_port = start_capsule(root, Path(temp) / "state", extra)
        bare, bare_port = start_bare(Path(temp) / "state")
        try:
            yield capsule, capsule_port, bare, bare_port
        finally:
            for process in (capsule, bare):
                process.send_signal(signal.SIGTERM)
                process.wait(30)


def measure_with_gemload(
    binary: Path, seconds: float, concurrencies: list[int], rounds: int, workers: int
) -> None:
    """Server CPU ms per request for capsule and the bare TLS floor: each row runs the two
    `rounds` times, interleaved, and reports medians (this machine's speed drifts)."""
    pages = {"index.gmi": SMALL_PAGE, "article.gmi": article_text()}
    extra = ("--workers", str(workers)) if workers > 1 else ()
    with capsule_and_bare(pages, extra) as (capsule, capsule_port, bare, bare_port):
        print(f"capsule with {workers} worker(s); medians of {rounds} interleaved runs")
        print("page     c    resumed   bare ms/req  capsule ms/req  capsule/bare  capsule req/s")
        for path, page in (("/", "small"), ("/article.gmi", "20 KB")):
            for concurrency in concurrencies:
                for resume in (False, True):
                    bare_costs, costs, ratios, rates, shares = [], [], [], [], []
                    for _ in range(rounds):
                        pair = []
                        for process, port, target in (
                            (bare, bare_port, "/"),
                            (capsule, capsule_port, path),
                        ):
                            before = cpu_seconds(process.pid)
                            summary = gemload_run(
                                binary, port, target, concurrency, seconds, resume
                            )
                            requests = int(str(summary["requests"])) or 1
                            pair.append((cpu_seconds(process.pid) - before) * 1000 / requests)
                        bare_costs.append(pair[0])
                        costs.append(pair[1])
                        ratios.append(pair[1] / pair[0])
                        rates.append(float(str(summary["rps"])))
                        shares.append(int(str(summary["resumed"])) / requests)
                    share = f"{statistics.median(shares):7.1%}" if resume else "     no"
                    print(
                        f"{page:8} {concurrency:<3} {share:>8} "
                        f"{statistics.median(bare_costs):12.3f} {statistics.median(costs):15.3f} "
                        f"{statistics.median(ratios):13.2f} {statistics.median(rates):14.0f}",
                        flush=True,
                    )


def measure_with_python(seconds: float, concurrencies: list[int]) -> None:
    """The same comparison with this process as the client (no gemload on this machine)."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    with capsule_and_bare({"index.gmi": SMALL_PAGE}) as (capsule, capsule_port, bare, bare_port):
        for concurrency in concurrencies:
            rates, costs = [], []
            for name, process, port in (
                ("bare-tls", bare, bare_port),
                ("capsule", capsule, capsule_port),
            ):
                before = cpu_seconds(process.pid)
                result = trio.run(load, port, concurrency, seconds)
                cost = (cpu_seconds(process.pid) - before) * 1000 / max(1, len(result[1]))
                rates.append(report(name, concurrency, *result))
                costs.append(cost)
                print(f"         server CPU {cost:.2f} ms per request")
            print(
                f"         capsule / bare-tls: requests/s {rates[1] / rates[0]:.2f}, "
                f"CPU per request {costs[1] / costs[0]:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per row")
    parser.add_argument("--workers", type=int, default=1, help="capsule's --workers")
    parser.add_argument("--python", action="store_true", help="use the Python client")
    args = parser.parse_args()
    binary = None if args.python else gemload_binary()
    if binary is None:
        measure_with_python(args.seconds, args.concurrency)
    else:
        measure_with_gemload(binary, args.seconds, args.concurrency, args.rounds, args.workers)


if __name__ == "__main__":
    main()
