"""Idle CPU and edit-to-search latency of the catalog, polling the disk or told by the kernel.

Usage: python benchmarks/bench_idle.py [--articles 32000] [--idle 30] [--rounds 2]
Makes a news capsule (make_capsule.py), then for each mode in turn (interleaved, `rounds` times)
starts `capsule serve`, waits for the first full index, measures the server's CPU over `idle`
seconds with nothing happening, then edits one article in place (same inode, so the directory's
mtime stays) and times how long until search finds the new word. Prints one line per run and
the medians.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = {
    "polling": ["--no-index-watch"],
    "watching": [],
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(root: Path, state: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--root", str(root), "--state-dir", str(state),
         "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", *MODES[mode]],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert process.stderr is not None
    port = 0
    for line in process.stderr:
        found = re.search(r"serving http://\S+ on \S+:(\d+)", line)
        if found:
            port = int(found.group(1))
        if "index of" in line:  # the first full index is done
            return process, port
    raise RuntimeError("capsule serve stopped before indexing")


def found(port: int, word: str) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/search?q={word}") as response:
        return "/2026/11/24/" in response.read().decode()


def run(root: Path, mode: str, idle: float, word: str) -> tuple[float, float]:
    state = Path(tempfile.mkdtemp(prefix="bench-idle-state-"))
    process, port = serve(root, state, mode)
    try:
        before = cpu_seconds(process.pid)
        time.sleep(idle)
        idle_cpu = (cpu_seconds(process.pid) - before) / idle
        article = sorted((root / "2026" / "11" / "24").glob("*.gmi"))[0]
        with article.open("a") as file:
            file.write(f"\n{word}\n")
        started = time.monotonic()
        while not found(port, word):
            if time.monotonic() - started > 120:
                return idle_cpu, float("inf")
            time.sleep(0.05)
        return idle_cpu, time.monotonic() - started
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=32000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-idle-root-"))
    subprocess.run(
        [sys.executable, str(HERE / "make_capsule.py"), str(args.articles), str(root)], check=True
    )
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    try:
        for round_number in range(args.rounds):
            for mode in MODES:
                word = f"zanzibar{mode}{round_number}"
                idle_cpu, latency = run(root, mode, args.idle, word)
                results[mode].append((idle_cpu, latency))
                print(f"{mode:9} idle CPU {idle_cpu * 100:6.2f}% of a core, "
                      f"edit in place to search {latency:6.2f} s", flush=True)
    finally:
        shutil.rmtree(root)
    for mode, runs in results.items():
        cpu = statistics.median(run[0] for run in runs)
        latency = statistics.median(run[1] for run in runs)
        print(f"median {mode:9} idle CPU {cpu * 100:6.2f}% of a core, "
              f"edit to search {latency:.2f} s")


if __name__ == "__main__":
    main()
