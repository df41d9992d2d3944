"""Server CPU per request of the HTTP mirror against nginx serving `capsule build`'s export of
the same capsule, in the same run: a small page and a 20 KB article, keep-alive clients.
nginx writes an access log as the mirror does, in batches (`buffer=64k flush=1s`).

A bare trio server answering the export's files (`http_floor.py`) runs too: the floor of any
HTTP server on trio here. Every server is pinned to CPU 0 and the load generator to CPU 1; a
server's CPU is read from /proc/PID/stat (nginx: its master and worker) before and after each
run. The servers take turns within each round (interleaved), and each mirror's CPU is also
given as a ratio to nginx's in the same round. With `--baseline REV`, the mirror at git
revision REV runs beside the working tree's, from a temporary worktree with its own venv
(removed afterwards).

The load generator is wrk when installed (`apt-get install wrk`); without it, a Python h11
client in this process, which cannot saturate the server, so requests/s are lower but CPU per
request stays comparable. `--all-pages` runs the older sweep instead: every kind of page of the
live mirror, as it is and gzipped, with latencies.

Run: .venv/bin/python benchmarks/bench_mirror.py [--seconds 5] [--rounds 3] [--baseline REV]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h11
import trio
from make_capsule import make_capsule

REPOSITORY = Path(__file__).resolve().parent.parent
SERVER_CPU, CLIENT_CPU = 0, 1
SMALL_PAGE = "# Small page\n\nA short paragraph of gemtext.\n=> / Home\n"
PAGES = {"small page": "/small.html", "20 KB article": "/article.html"}
TARGETS = ("/", "/article.html", "/archive/2026/", "/sitemap.xml", "/atom.xml",
           "/_capsule/style.css")
CODINGS = ("identity", "gzip")
PARAGRAPH = (
    "The mirror renders the same gemtext documents as HTML, with every link rewritten to the "
    "mirror path of the same resource, so readers without a Gemini client can browse it.\n"
)
NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log combined buffer=64k flush=1s;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {site};
        index index.html;
        gzip_static on;
        types {{ text/html html; text/css css; text/plain gmi txt; application/xml xml; }}
        charset utf-8;
        add_header Content-Security-Policy "default-src 'none'" always;
        add_header X-Content-Type-Options nosniff always;
        add_header Referrer-Policy no-referrer always;
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
"""


def write_capsule(root: Path, articles: int) -> None:
    """A news capsule of `articles` dated articles, a small page, and an article of about 20 KB
    of gemtext."""
    make_capsule(articles, root)
    sections = []
    while sum(map(len, sections)) < 20_000:
        n = len(sections)
        sections.append(f"## Section {n}\n{PARAGRAPH * 3}=> /index.gmi Home\n* item {n}\n")
    (root / "article.gmi").write_text("# Article\n" + "".join(sections))
    (root / "small.gmi").write_text(SMALL_PAGE)


def capsule_and_export(temp: Path, articles: int) -> tuple[Path, Path]:
    """A capsule of `articles` articles in `temp` (`write_capsule`), and its static export."""
    root = temp / "capsule"
    write_capsule(root, articles)
    site = temp / "site"
    subprocess.run([sys.executable, "-m", "server", "build", "--root", str(root),
                    "--state-dir", str(temp / "build-state"), "--base-url",
                    "https://example.org/", str(site)], check=True, cwd=REPOSITORY,
                   capture_output=True)
    return root, site


def pinned(command: list[str], cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if shutil.which("taskset") else command


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running server under test: the processes whose CPU counts, and its port."""

    name: str
    pids: tuple[int, ...]
    port: int


def start_mirror(
    python: str, tree: Path, root: Path, state: Path, stack: contextlib.ExitStack
) -> Server:
    """`capsule serve` from the source tree `tree`, pinned to the server CPU."""
    command = pinned([
        python, "-m", "server", "serve", "--root", str(root), "--listen", "127.0.0.1:0",
        "--http", "127.0.0.1:0", "--state-dir", str(state), "--requests-per-second", "0",
        "--max-connections-per-ip", "1024", "--base-url", "https://example.org/",
    ], SERVER_CPU)
    process = subprocess.Popen(
        command, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    stack.callback(_stop, process)
    assert process.stderr is not None
    for line in process.stderr:
        if " serving http://" in line:
            port = int(line.rsplit(":", 1)[1])
            # Keep draining stderr so the server never blocks on a full pipe.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return Server("", (process.pid,), port)
    raise RuntimeError("capsule serve did not report its mirror URL")


def start_nginx(site: Path, prefix: Path, stack: contextlib.ExitStack) -> Server:
    """nginx serving the static export `site`, one worker, pinned to the server CPU."""
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port, site=site))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(
        pinned([nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
               SERVER_CPU),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    stack.callback(_stop, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = _children(process.pid)
        if children and _answers(port):
            return Server("nginx", (process.pid, *children), port)
        time.sleep(0.05)  # a benchmark waiting for a child, not a test
    raise RuntimeError(f"nginx did not start: {(prefix / 'error.log').read_text()}")


def start_floor(site: Path, stack: contextlib.ExitStack) -> Server:
    """http_floor.py answering the export's files, pinned to the server CPU."""
    port = free_port()
    process = subprocess.Popen(
        pinned([sys.executable, str(Path(__file__).parent / "http_floor.py"), str(port),
                str(site)], SERVER_CPU),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    stack.callback(_stop, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _answers(port):
            return Server("trio floor", (process.pid,), port)
        time.sleep(0.05)  # a benchmark waiting for a process, not a test
    raise RuntimeError("http_floor.py did not start")


def _children(pid: int) -> tuple[int, ...]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return tuple(found)


def _answers(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def _stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pids: tuple[int, ...]) -> float:
    """User and system CPU the processes have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wrk_requests(port: int, path: str, connections: int, seconds: float) -> int:
    """Requests wrk completed against `path` (every answer must be 200)."""
    command = pinned([
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-H", "Host: localhost",
        "-H", "Accept-Encoding: identity", f"http://127.0.0.1:{port}{path}",
    ], CLIENT_CPU)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk got errors from {path}:\n{output}")
    return int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]


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


async def python_load(
    port: int, target: str, coding: str, connections: int, seconds: float
) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    sizes: list[int] = []
    until = trio.current_time() + seconds
    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(client, port, target, coding, until, latencies, sizes)
    return latencies, sizes


def cpu_per_request(server: Server, path: str, connections: int, seconds: float) -> float:
    """Server CPU µs per request of `path` over keep-alive connections."""
    trio.run(python_load, server.port, path, "identity", 1, 0.001)  # made once, not counted
    cpu = cpu_seconds(server.pids)
    if shutil.which("wrk"):
        requests = wrk_requests(server.port, path, connections, seconds)
    else:
        requests = len(trio.run(python_load, server.port, path, "identity", connections,
                                seconds)[0])
    return (cpu_seconds(server.pids) - cpu) / requests * 1e6


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


@contextlib.contextmanager
def baseline_tree(revision: str, temp: Path) -> Iterator[tuple[str, Path]]:
    """The python and source tree of `revision`, in a worktree with its own venv; removed
    after."""
    tree = temp / "baseline"
    subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "add", "--detach", str(tree),
                    revision], check=True, capture_output=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(tree / ".venv")], check=True)
        python = str(tree / ".venv" / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", "-e", str(tree)], check=True,
                       capture_output=True)
        yield python, tree
    finally:
        subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "remove", "--force",
                        str(tree)], check=False, capture_output=True)


def compare(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as temp_name, contextlib.ExitStack() as stack:
        temp = Path(temp_name)
        temp.chmod(0o755)  # nginx's worker runs as another user, and reads the export
        root, site = capsule_and_export(temp, args.articles)
        trees = [("mirror", sys.executable, REPOSITORY)]
        if args.baseline:
            python, tree = stack.enter_context(baseline_tree(args.baseline, temp))
            trees.insert(0, (f"mirror@{args.baseline[:10]}", python, tree))
        servers = [start_nginx(site, temp / "nginx", stack), start_floor(site, stack)]
        for name, python, tree in trees:
            state = temp / f"state-{len(servers)}"
            started = start_mirror(python, tree, root, state, stack)
            servers.append(Server(name, started.pids, started.port))
            trio.run(wait_for_catalog, started.port, args.articles)
        loader = "wrk" if shutil.which("wrk") else "a Python client (wrk not installed)"
        print(f"{args.articles} articles; load from {loader}, {args.connections} keep-alive "
              f"connections, {args.seconds:g} s a run, {args.rounds} interleaved rounds")
        cpu: dict[tuple[str, str], list[float]] = {}
        ratio: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for page, path in PAGES.items():
                this_round = {
                    server.name: cpu_per_request(server, path, args.connections, args.seconds)
                    for server in servers
                }
                for name, used in this_round.items():
                    cpu.setdefault((name, page), []).append(used)
                    ratio.setdefault((name, page), []).append(used / this_round["nginx"])
        print(f"\n{'server':<24} {'page':<14} {'CPU µs/request':>15} {'/ nginx':>8}")
        for server in servers:
            for page in PAGES:
                used = statistics.median(cpu[server.name, page])
                times = statistics.median(ratio[server.name, page])
                print(f"{server.name:<24} {page:<14} {used:>15.1f} {times:>8.2f}")


@dataclass(frozen=True)
class Result:
    target: str
    coding: str
    rate: float
    p50: float
    p99: float
    bytes: int
    cpu_ms: float


def all_pages(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as temp, contextlib.ExitStack() as stack:
        root = Path(temp) / "capsule"
        write_capsule(root, args.articles)
        server = start_mirror(sys.executable, REPOSITORY, root, Path(temp) / "state", stack)
        print(f"mirror on port {server.port}; {args.articles} articles")
        trio.run(wait_for_catalog, server.port, args.articles)
        results = {}
        for target in TARGETS:
            for coding in CODINGS:
                trio.run(python_load, server.port, target, coding, 1, 0.001)
                cpu = cpu_seconds(server.pids)
                latencies, sizes = trio.run(
                    python_load, server.port, target, coding, args.connections, args.seconds
                )
                used = cpu_seconds(server.pids) - cpu
                latencies.sort()
                result = Result(
                    target, coding, len(latencies) / args.seconds,
                    statistics.median(latencies) * 1000,
                    latencies[int(len(latencies) * 0.99) - 1] * 1000, sizes[0],
                    used / len(latencies) * 1000,
                )
                results[target, coding] = result
                print(f"{target:<20} {coding:<8} {result.bytes:>9} B  {result.rate:7.0f} req/s"
                      f"  p50 {result.p50:6.2f} ms  p99 {result.p99:6.2f} ms"
                      f"  CPU {result.cpu_ms:6.3f} ms/req")
        print("\ngzip / identity, same run:")
        for target in TARGETS:
            plain, packed = results[target, "identity"], results[target, "gzip"]
            print(f"{target:<20} bytes {packed.bytes / plain.bytes:5.3f}"
                  f"  CPU per request {packed.cpu_ms / plain.cpu_ms:5.2f}"
                  f"  req/s {packed.rate / plain.rate:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--baseline", help="git revision whose mirror runs beside this one")
    parser.add_argument("--all-pages", action="store_true", help="the per-page sweep instead")
    args = parser.parse_args()
    (all_pages if args.all_pages else compare)(args)


if __name__ == "__main__":
    main()
