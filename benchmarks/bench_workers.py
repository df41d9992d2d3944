"""Workers benchmark: small-page requests/s with 1 and with 2 worker processes.

Neither server is pinned, so each may use both cores; the client shares the machine with it,
as every client here must, and is often the bottleneck. So the server's CPU time per request
(all its processes) is reported too: it does not depend on how fast the client is.
Usage: python benchmarks/bench_workers.py [--seconds 5] [--concurrency 16 64]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).parent))

from bench_gemini import SMALL_PAGE, load, report, start_capsule


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = (int(fields[11]) + int(fields[12])) / ticks
    family = {pid}
    grew = True
    while grew:
        grown = {child for child, parent in parents.items() if parent in family} | family
        grew, family = grown != family, grown
    return sum(times.get(member, 0.0) for member in family)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "root"
        root.mkdir()
        (root / "index.gmi").write_text(SMALL_PAGE)
        for concurrency in args.concurrency:
            rates = []
            for workers in (1, 2):
                extra = ("--workers", str(workers)) if workers > 1 else ()
                process, port = start_capsule(root, Path(temp) / "state", extra, cpu=None)
                try:
                    cpu_before = tree_cpu_seconds(process.pid)
                    result = trio.run(load, port, concurrency, args.seconds)
                    cpu = tree_cpu_seconds(process.pid) - cpu_before
                    rates.append(report(f"{workers} worker", concurrency, *result))
                    served = max(1, len(result[1]))
                    print(f"         server CPU {cpu * 1000 / served:.2f} ms per request")
                finally:
                    process.send_signal(signal.SIGTERM)
                    process.wait(30)
            print(f"         2 workers / 1 worker = {rates[1] / rates[0]:.2f}")


if __name__ == "__main__":
    main()
