"""Instructions per request on the HTTP mirror's kept-answer path, counted by valgrind's
callgrind: the mirror's own work in a unit that the shared machine's noise does not move
(within about 2 % between runs, where CPU time per request moves by up to 30 %).

The mirror of each tree (the working tree, and `--baseline REV` from a temporary worktree) and
the bare trio floor (`http_floor.py`, on the capsule's export) run under callgrind in turn.
Once the catalog lists every article and a warm-up has made the kept answer, the count is
zeroed, `--requests` keep-alive requests for the small page are sent one after another, and
the count is dumped: only the serving thread's user-space instructions count, so the kernel's
share (socket calls, waking the client) is not in it; `bench_mirror.py` measures CPU time
with it. Needs valgrind (`apt-get install valgrind`).

Run: .venv/bin/python benchmarks/bench_instructions.py [--requests 1000] [--baseline REV]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import trio
from bench_mirror import (
    PAGES,
    REPOSITORY,
    _stop,
    baseline_tree,
    capsule_and_export,
    free_port,
    wait_for_catalog,
)

ARTICLES = 100
CONNECTION_REQUESTS = 500
"""Requests on one connection before the next: below the mirror's per-connection cap."""
_TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


def callgrind(command: list[str], output: Path) -> list[str]:
    return [
        "valgrind", "--tool=callgrind", "--separate-threads=yes",
        f"--callgrind-out-file={output}/callgrind.%p", *command,
    ]


def start_mirror(python: str, tree: Path, root: Path, state: Path, output: Path,
                 stack: contextlib.ExitStack) -> tuple[subprocess.Popen[str], int]:
    command = [
        python, "-m", "server", "serve", "--root", str(root), "--listen", "127.0.0.1:0",
        "--http", "127.0.0.1:0", "--state-dir", str(state), "--requests-per-second", "0",
        "--base-url", "https://example.org/",
    ]
    process = subprocess.Popen(callgrind(command, output), cwd=tree, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stack.callback(_stop, process)
    assert process.stderr is not None
    for line in process.stderr:
        if " serving http://" in line:
            threading.Thread(target=process.stderr.read, daemon=True).start()
            port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
            trio.run(wait_for_catalog, port, ARTICLES)
            return process, port
    raise RuntimeError("capsule serve did not report its mirror URL")


def start_floor(site: Path, output: Path,
                stack: contextlib.ExitStack) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    command = [sys.executable, str(Path(__file__).parent / "http_floor.py"), str(port),
               str(site)]
    process = subprocess.Popen(callgrind(command, output), text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(_stop, process)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        time.sleep(0.5)  # a benchmark waiting for a process, not a test
    raise RuntimeError("http_floor.py did not start under valgrind")


def request_in_turn(port: int, path: str, count: int) -> None:
    """`count` keep-alive requests for `path`, each sent once the last answer is in."""
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\n\r\n".encode()
    for start in range(0, count, CONNECTION_REQUESTS):
        with socket.create_connection(("127.0.0.1", port)) as connection:
            for _ in range(min(CONNECTION_REQUESTS, count - start)):
                connection.sendall(request)
                received = b""
                while b"\r\n\r\n" not in received:
                    received += connection.recv(65536)
                head, _, body = received.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                assert length is not None, head
                while len(body) < int(length[1]):
                    body += connection.recv(65536)


def instructions_per_request(process: subprocess.Popen[str], port: int, path: str,
                             requests: int, output: Path) -> float:
    request_in_turn(port, path, 50)  # the kept answer is made here, not counted
    subprocess.run(["callgrind_control", "-z", str(process.pid)], check=True,
                   capture_output=True)
    request_in_turn(port, path, requests)
    subprocess.run(["callgrind_control", "-d", str(process.pid)], check=True,
                   capture_output=True)
    # The dump of the first thread (the event loop's), written when the command is taken.
    deadline = time.monotonic() + 60
    while not (dumps := sorted(output.glob(f"callgrind.{process.pid}.*-01"))):
        if time.monotonic() > deadline:
            raise RuntimeError("callgrind wrote no dump")
        time.sleep(0.2)  # a benchmark waiting for valgrind's file, not a test
    match = _TOTAL.search(dumps[-1].read_text())
    assert match is not None, dumps[-1]
    return int(match[1]) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--baseline", help="git revision whose mirror is counted too")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed: apt-get install valgrind")
    path = PAGES["small page"]
    with tempfile.TemporaryDirectory() as temp_name, contextlib.ExitStack() as stack:
        temp = Path(temp_name)
        root, site = capsule_and_export(temp, ARTICLES)
        trees = [("mirror", sys.executable, REPOSITORY)]
        if args.baseline:
            python, tree = stack.enter_context(baseline_tree(args.baseline, temp))
            trees.append((f"mirror@{args.baseline}", python, tree))
        counts: dict[str, float] = {}
        with contextlib.ExitStack() as floor_stack:
            output = temp / "floor"
            output.mkdir()
            process, port = start_floor(site, output, floor_stack)
            counts["trio floor"] = instructions_per_request(process, port, path,
                                                            args.requests, output)
        for name, python, tree in trees:
            with contextlib.ExitStack() as mirror_stack:
                output = temp / f"out-{len(counts)}"
                output.mkdir()
                process, port = start_mirror(python, tree, root, temp / f"state-{len(counts)}",
                                             output, mirror_stack)
                counts[name] = instructions_per_request(process, port, path, args.requests,
                                                        output)
        floor = counts["trio floor"]
        print(f"\n{args.requests} requests for {path}, one after another, keep-alive\n")
        print(f"{'server':<24} {'instructions/request':>21} {'/ floor':>8}")
        for name, count in counts.items():
            print(f"{name:<24} {count:>21,.0f} {count / floor:>8.2f}")


if __name__ == "__main__":
    main()
