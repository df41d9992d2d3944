"""Gemini server CPU per request of two checkouts of capsule, interleaved in the same minutes.

Usage: python benchmarks/bench_compare.py OTHER_CHECKOUT [--rounds 5] [--seconds 5]
    [--concurrency 16] [--page small|article]
OTHER_CHECKOUT is another working tree of capsule with its own `.venv` (e.g. a `git worktree`
of the commit to compare with). Each round starts `capsule serve` from one checkout and then
the other (A B A B...), pinned to CPU 0, and loads it with gemload (../shared/tools/gemload)
pinned to CPU 1: fresh TCP + TLS connections, the same page. It reports the server's CPU per
request (utime + stime from /proc, every process of the server) for each run, the medians and
their ratio; rounds interleave so that a busy machine weighs on both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
GEMLOAD = HERE.parent / "shared" / "tools" / "gemload" / "gemload"
PAGES = {
    "small": "# Small page\n\nA short paragraph of gemtext.\n=> / Home\n",
    "article": "# An article\n\n" + "A paragraph of an article, long enough to matter.\n" * 400,
}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of `pid` and its children so far."""
    total = 0.0
    for task in [pid, *_children(pid)]:
        fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def one_run(checkout: Path, root: Path, state: Path, seconds: float, concurrency: int) -> float:
    """Server CPU milliseconds per request for one run of `checkout`'s server."""
    command = [
        "taskset", "-c", "0", str(checkout / ".venv" / "bin" / "python"), "-m", "server", "serve",
        "--root", str(root), "--state-dir", str(state), "--listen", "127.0.0.1:0", "--no-http",
        "--requests-per-second", "0", "--max-connections-per-ip", "4096",
    ]
    server = subprocess.Popen(
        command, cwd=checkout, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert server.stderr is not None
    port = 0
    for line in server.stderr:
        found = re.search(r"serving gemini://\S+ on \S+:(\d+)", line)
        port = int(found.group(1)) if found else port
        if line.rstrip().endswith(" ready"):
            break
    try:
        before = cpu_seconds(server.pid)
        result = subprocess.run(
            ["taskset", "-c", "1", str(GEMLOAD), "-q", "-j", "-c", str(concurrency), "-d",
             str(seconds), "-a", f"127.0.0.1:{port}", "gemini://localhost/page.gmi"],
            capture_output=True, text=True, check=True,
        )
        used = cpu_seconds(server.pid) - before
    finally:
        server.terminate()
        server.wait()
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    if summary["errors"]:
        raise RuntimeError(f"{checkout}: {summary['errors']} errors")
    return 1000 * used / summary["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--page", choices=sorted(PAGES), default="small")
    args = parser.parse_args()
    if not GEMLOAD.exists():
        raise SystemExit(f"build gemload first: {GEMLOAD.parent / 'build.sh'}")
    checkouts = {"other": args.other.resolve(), "this": HERE}
    results: dict[str, list[float]] = {name: [] for name in checkouts}
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "root"
        root.mkdir()
        (root / "page.gmi").write_text(PAGES[args.page])
        for number in range(args.rounds):
            for name, checkout in checkouts.items():
                state = Path(temp) / f"state-{name}"
                cost = one_run(checkout, root, state, args.seconds, args.concurrency)
                results[name].append(cost)
                print(f"round {number + 1} {name:5} {cost:.3f} ms/request", flush=True)
    medians = {name: statistics.median(costs) for name, costs in results.items()}
    for name, median in medians.items():
        print(f"median {name:5} {median:.3f} ms/request ({checkouts[name]})")
    print(f"ratio this / other: {medians['this'] / medians['other']:.3f}")


if __name__ == "__main__":
    main()
