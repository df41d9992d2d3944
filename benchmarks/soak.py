"""Soak benchmark: a server's memory and descriptors under mixed load, then after bursts.

Starts one `capsule serve` (Gemini and mirror on loopback ports, no rate limit, its own state
directory) on a synthetic capsule, runs Gemini requests (gemload) and keep-alive mirror
requests for --duration seconds while a new article appears every second, and samples the
server's RSS, open descriptors and threads each second. Then, for each of --bursts bursts, it
records RSS at idle, opens --burst Gemini connections, waits until the server has been idle for
--settle seconds, and reports RSS before, at the peak and after, with after/before (target:
within 1.2). The "experiments" options patch the server through a wrapper, for diagnosis only.
Usage: .venv/bin/python benchmarks/soak.py [--duration 60] [--bursts 1] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import h11
import trio

sys.path.insert(0, str(Path(__file__).parent))

from bench_gemini import client_context, load, one_request, pinned, serve_command
from bench_workers import tree_cpu_seconds
from make_capsule import WORDS, article, make_capsule, sentence

REPO = Path(__file__).resolve().parent.parent
GEMLOAD_DIR = REPO.parent / "shared" / "tools" / "gemload"
GEMLOAD_SCRATCH = Path(tempfile.gettempdir()) / "capsule-gemload"
"""Where gemload is built if its own directory is read-only."""
TARGET_RATIO = 1.2
IDLE_CPU_SHARE = 0.05
"""The server counts as idle while it uses less than this share of a core."""
NEW_ARTICLE_DAY = date(2026, 11, 26)
"""Articles the writer adds are dated after every generated one, so they top every list."""
GEMINI_PATHS = ("/", "/about.gmi", "/feed.gmi", "/archive/", "/atom.xml", "/search?river%20bridge")
MIRROR_PATHS = ("/", "/archive/", "/feed.html", "/about.html", "/atom.xml")
PRCTL = ctypes.CDLL(None, use_errno=True).prctl
PR_SET_PDEATHSIG = 1
MIRROR_SEARCH_SHARE = 4
"""Every fourth mirror request is a search nobody asked before, as crawlers make them."""

# `python -c PATCHED_SERVER PATCHES_JSON serve ...`: the server with an experiment's patches.
PATCHED_SERVER = r"""
import ctypes, gc, json, os, sqlite3, sys, threading, time
patches = json.loads(sys.argv[1])
libc = ctypes.CDLL("libc.so.6")

def every(seconds, action):
    def loop():
        while True:
            time.sleep(seconds)
            action()
    threading.Thread(target=loop, daemon=True).start()

def release():
    gc.collect()
    libc.malloc_trim(0)

if "thread_limit" in patches:
    import trio._threads
    trio._threads.DEFAULT_LIMIT = patches["thread_limit"]
if "gc_freeze" in patches:
    # Whenever the server reports itself ready: start-up is done, everything since is traffic.
    import server.daemon.systemd
    ready = server.daemon.systemd.ready
    def freeze_then_ready():
        gc.collect()
        gc.freeze()
        return ready()
    server.daemon.systemd.ready = freeze_then_ready
for key, action in (("malloc_trim_every", lambda: libc.malloc_trim(0)),
                    ("gc_collect_every", gc.collect), ("release_every", release)):
    if key in patches:
        every(patches[key], action)
if "probe" in patches:
    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]
    libc.mallinfo2.restype = Mallinfo2
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    path = patches["probe"]

    def heaps():
        handle = libc.fopen((path + ".xml").encode(), b"w")
        libc.malloc_info(0, handle)
        libc.fclose(handle)
        with open(path + ".xml") as xml:
            return xml.read().count("<heap nr=")

    def snapshot():
        from server.tls_stream import TLSStream  # loaded by now, after OPENSSL_CONF
        info = libc.mallinfo2()
        objects = gc.get_objects()
        def count(kind):
            return sum(isinstance(o, kind) for o in objects)
        return {
            "malloc_arena_mib": info.arena / 2**20, "malloc_in_use_mib": info.uordblks / 2**20,
            "malloc_free_mib": info.fordblks / 2**20, "malloc_heaps": heaps(),
            "python_blocks": sys.getallocatedblocks(), "gc_objects": len(objects),
            "gc_full_collections": gc.get_stats()[2]["collections"],
            "tls_streams": count(TLSStream), "sqlite_connections": count(sqlite3.Connection),
            "page_cache_entries": sum(len(o.cache) for o in objects
                                      if type(o).__name__ == "PageRenderer"),
        }

    def answer_probe():
        # Only when asked, so that the probe's own CPU never keeps the server from idling.
        if os.path.exists(path + ".want"):
            try:
                state = snapshot()
            except Exception as error:
                state = {"probe_error": repr(error)}
            with open(path + ".new", "w") as out:
                json.dump(state, out)
            os.replace(path + ".new", path)
            os.unlink(path + ".want")
    every(0.1, answer_probe)
from server.daemon.launch import main
sys.argv[1:] = sys.argv[2:]
sys.exit(main())
"""


@dataclass
class Sample:
    """One look at the server from /proc."""

    at: float
    phase: str
    rss_mib: float
    fds: int
    threads: int
    cpu_share: float


@dataclass
class Burst:
    """The server around one burst of Gemini connections."""

    before_mib: float
    peak_mib: float
    after_mib: float
    threads_peak: int
    threads_after: int
    fds_before: int
    fds_after: int
    requests: int
    errors: int
    seconds: float
    probe_before: dict[str, object] = field(default_factory=dict)
    probe_after: dict[str, object] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.after_mib / self.before_mib


@dataclass
class Server:
    """A running `capsule serve`, its ports, and its stderr kept drained."""

    process: subprocess.Popen[str]
    gemini_port: int
    http_port: int
    lines: list[str]


@dataclass
class MirrorTally:
    requests: int = 0
    errors: int = 0
    searches: int = 0


@dataclass
class Result:
    """What one run measured, and under which experiment."""

    experiment: dict[str, object]
    gemini_client: str
    samples: list[Sample]
    soak: dict[str, object]
    bursts: list[Burst]


def family(pid: int) -> set[int]:
    """A process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    members, grew = {pid}, True
    while grew:
        grown = members | {child for child, parent in parents.items() if parent in members}
        grew, members = grown != members, grown
    return members


def status_field(pid: int, name: str) -> int:
    """An integer field of /proc/PID/status (VmRSS in KiB, Threads), 0 if the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    with contextlib.suppress(OSError):
        return len(os.listdir(f"/proc/{pid}/fd"))
    return 0


class Sampler:
    """Samples RSS, descriptors, threads and CPU share, summed over the server's processes."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.started = time.monotonic()
        self.samples: list[Sample] = []
        self._cpu = (self.started, tree_cpu_seconds(pid))

    def sample(self, phase: str) -> Sample:
        members = family(self.pid)
        now, cpu = time.monotonic(), tree_cpu_seconds(self.pid)
        share = (cpu - self._cpu[1]) / (now - self._cpu[0]) if now - self._cpu[0] > 0.1 else 0.0
        self._cpu = (now, cpu)
        sample = Sample(
            round(now - self.started, 1),
            phase,
            sum(status_field(member, "VmRSS") for member in members) / 1024,
            sum(open_fds(member) for member in members),
            sum(status_field(member, "Threads") for member in members),
            share,
        )
        self.samples.append(sample)
        return sample

    @contextlib.contextmanager
    def every(self, seconds: float, phase: str) -> Iterator[None]:
        """Sample every `seconds` in a background thread while the block runs."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(seconds):
                self.sample(phase)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def wait_idle(self, settle: float, limit: float, phase: str) -> Sample:
        """Sample each second until the server has been idle for `settle` seconds, or for
        `limit` seconds in all; return the last sample."""
        deadline = time.monotonic() + limit
        idle_since: float | None = None
        sample = self.sample(phase)
        while time.monotonic() < deadline:
            time.sleep(1.0)
            sample = self.sample(phase)
            if sample.cpu_share >= IDLE_CPU_SHARE:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= settle:
                break
        return sample


def find_gemload(explicit: Path | None) -> Path | None:
    """gemload as given, or the shared one, built with its build.sh if missing (in a scratch
    copy if its directory is read-only); None if it cannot be built."""
    if explicit is not None:
        return explicit
    for directory in (GEMLOAD_DIR, GEMLOAD_SCRATCH):
        if (directory / "gemload").exists():
            return directory / "gemload"
    if (GEMLOAD_DIR / "build.sh").exists():
        for directory in (GEMLOAD_DIR, GEMLOAD_SCRATCH):
            if directory == GEMLOAD_SCRATCH:
                directory.mkdir(exist_ok=True)
                for name in ("build.sh", "gemload.c"):
                    shutil.copy(GEMLOAD_DIR / name, directory / name)
            subprocess.run(["sh", str(directory / "build.sh")], capture_output=True, check=False)
            if (directory / "gemload").exists():
                return directory / "gemload"
    progress("gemload is missing and could not be built; using the Python TLS client")
    return None


def start_server(
    root: Path,
    state: Path,
    patches: dict[str, object],
    env: dict[str, str],
    extra: tuple[str, ...] = (),
) -> Server:
    """`capsule serve` pinned to CPU 0 with the mirror on, in its own session (so Ctrl-C
    reaches only us, and we stop it); patched only when an experiment asks."""
    command = [arg for arg in serve_command(root, state, extra) if arg != "--no-http"]
    command += ["--http", "127.0.0.1:0"]
    if patches:
        command[1:3] = ["-c", PATCHED_SERVER, json.dumps(patches)]
    process = subprocess.Popen(
        pinned(command, 0),
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=die_with_us,
    )
    assert process.stderr is not None
    lines: list[str] = []
    ports = {"gemini": 0, "http": 0}
    try:
        for line in process.stderr:
            lines.append(line)
            for scheme in ports:
                if f" serving {scheme}://" in line:
                    ports[scheme] = int(line.rsplit(":", 1)[1])
            if line.rstrip().endswith(" ready"):
                break
        else:
            raise RuntimeError("capsule serve did not start:\n" + "".join(lines[-20:]))
    except BaseException:
        stop(process)
        raise
    # Keep draining stderr so the server never blocks on a full pipe.
    threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True).start()
    return Server(process, ports["gemini"], ports["http"], lines)


def die_with_us() -> None:
    """Run in a child before exec: SIGTERM it if this benchmark dies, even by SIGKILL."""
    PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop(process: subprocess.Popen[str] | None, grace: float = 15.0) -> None:
    """SIGTERM a child we started, and SIGKILL it if it outlives `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def run_gemload(
    gemload: Path, url_file: Path, concurrency: int, bound: list[str]
) -> subprocess.Popen[str]:
    """gemload pinned to CPU 1, in its own session, to print one JSON line."""
    command = [
        str(gemload),
        "-q",
        "-j",
        "-c",
        str(concurrency),
        *bound,
        "-f",
        str(url_file),
        "-a",
        "127.0.0.1",
    ]
    return subprocess.Popen(
        pinned(command, 1),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=die_with_us,
    )


def gemload_result(process: subprocess.Popen[str], timeout: float) -> dict[str, float]:
    """Requests, errors and rate of a finished gemload."""
    out, _ = process.communicate(timeout=timeout)
    report = json.loads(out.strip().splitlines()[-1])
    errors = sum(value for key, value in report.items() if key.startswith("err_"))
    return {"requests": report["requests"], "errors": errors, "rps": report["rps"]}


async def python_gemini(port: int, seconds: float, concurrency: int) -> dict[str, float]:
    """Time-bounded Gemini load from Python, for machines where gemload cannot be built."""
    per_path = max(1, concurrency // len(GEMINI_PATHS))
    results: list[tuple[float, list[float], int]] = []

    async def one_path(path: str) -> None:
        results.append(await load(port, per_path, seconds, path))

    async with trio.open_nursery() as nursery:
        for path in GEMINI_PATHS:
            nursery.start_soon(one_path, path)
    requests = sum(len(latencies) for _, latencies, _ in results)
    return {"requests": requests, "errors": sum(r[2] for r in results), "rps": requests / seconds}


async def python_burst(port: int, count: int, concurrency: int) -> dict[str, float]:
    """Exactly `count` Gemini connections from Python, `concurrency` at a time."""
    context = client_context()
    remaining, errors = count, 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            try:
                ok = await one_request(port, context, GEMINI_PATHS[remaining % len(GEMINI_PATHS)])
            except (trio.BrokenResourceError, OSError):
                ok = False
            errors += not ok

    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
    return {"requests": count, "errors": errors, "rps": count / (time.perf_counter() - started)}


def mirror_target(number: int, tally: MirrorTally, offset: int) -> str:
    if number % MIRROR_SEARCH_SHARE == MIRROR_SEARCH_SHARE - 1:
        tally.searches += 1
        words = f"{WORDS[tally.searches % len(WORDS)]}+{WORDS[offset % len(WORDS)]}"
        return f"/search?q={words}+{tally.searches}"
    return MIRROR_PATHS[number % len(MIRROR_PATHS)]


async def mirror_client(port: int, until: float, tally: MirrorTally, offset: int) -> None:
    """Keep-alive GETs of mirror pages and new searches until `until`, connecting again
    whenever the server closes the connection."""
    while trio.current_time() < until:
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
        except OSError:
            tally.errors += 1
            await trio.sleep(0.1)
            continue
        connection = h11.Connection(h11.CLIENT)
        try:
            while trio.current_time() < until:
                target = mirror_target(tally.requests + offset, tally, offset)
                request = h11.Request(method="GET", target=target, headers=[("Host", "localhost")])
                await stream.send_all(
                    connection.send(request) + connection.send(h11.EndOfMessage())
                )
                while not isinstance(event := connection.next_event(), h11.EndOfMessage):
                    if event is h11.NEED_DATA:
                        connection.receive_data(await stream.receive_some(65536))
                    elif isinstance(event, h11.ConnectionClosed):
                        raise trio.BrokenResourceError
                    elif isinstance(event, h11.Response) and event.status_code != 200:
                        tally.errors += 1
                tally.requests += 1
                if connection.their_state is h11.MUST_CLOSE:
                    break
                connection.start_next_cycle()
        except (trio.BrokenResourceError, h11.ProtocolError, OSError):
            tally.errors += 1
        finally:
            await trio.aclose_forcefully(stream)


async def write_articles(root: Path, until: float, every: float, written: list[Path]) -> None:
    """Add an article every `every` seconds until `until`, as an author would."""
    rng = random.Random(7)
    directory = root / f"{NEW_ARTICLE_DAY:%Y/%m/%d}"
    directory.mkdir(parents=True, exist_ok=True)
    while trio.current_time() + every < until:
        await trio.sleep(every)
        path = directory / f"soak-{len(written)}.gmi"
        text = article(rng, sentence(rng, 3, 7).rstrip("."), NEW_ARTICLE_DAY)
        await trio.Path(path).write_text(text)
        written.append(path)


async def mixed_load(
    server: Server, root: Path, args: argparse.Namespace, tally: MirrorTally, written: list[Path]
) -> dict[str, float] | None:
    """Mirror clients and the writer; the Gemini load too when gemload is missing."""
    until = trio.current_time() + args.duration
    gemini = None
    async with trio.open_nursery() as nursery:
        for offset in range(args.mirror_connections):
            nursery.start_soon(mirror_client, server.http_port, until, tally, offset)
        nursery.start_soon(write_articles, root, until, args.write_every, written)
        if args.gemload is None:
            gemini = await python_gemini(server.gemini_port, args.duration, args.concurrency)
    return gemini


def soak(
    server: Server, sampler: Sampler, args: argparse.Namespace, root: Path, url_file: Path
) -> dict[str, object]:
    """The mixed load for `args.duration` seconds, sampled each second; its summary."""
    progress(f"server pid {server.process.pid}; mixed load for {args.duration:.0f}s")
    tally, written = MirrorTally(), list[Path]()
    gemload = None
    if args.gemload is not None:
        bound = ["-d", str(args.duration), "-t", "10"]
        gemload = run_gemload(args.gemload, url_file, args.concurrency, bound)
    try:
        with sampler.every(1.0, "soak"):
            gemini = trio.run(mixed_load, server, root, args, tally, written)
        if gemload is not None:
            gemini = gemload_result(gemload, 60)
    finally:
        stop(gemload, 5)
    rss = [s.rss_mib for s in sampler.samples]
    half = rss[len(rss) // 2 :]
    # Growth over the second half only: start-up and warm-up are no leak.
    slope = (half[-1] - half[0]) / (args.duration / 2) * 60
    return {
        "rss_start_mib": round(rss[0], 1),
        "rss_end_mib": round(rss[-1], 1),
        "rss_max_mib": round(max(rss), 1),
        "rss_tenths_mib": [round(rss[len(rss) * k // 10 - (k == 10)], 1) for k in range(11)],
        "rss_growth_second_half_mib_per_min": round(slope, 2),
        "fds_start": sampler.samples[0].fds,
        "fds_end": sampler.samples[-1].fds,
        "fds_max": max(s.fds for s in sampler.samples),
        "threads_max": max(s.threads for s in sampler.samples),
        "gemini": gemini or {},
        "mirror": asdict(tally),
        "articles_written": len(written),
    }


def read_probe(path: Path | None) -> dict[str, object]:
    """Ask the patched server for a snapshot of its allocator and objects, and read it."""
    if path is None:
        return {}
    want = path.with_name(path.name + ".want")
    want.touch()
    deadline = time.monotonic() + 10
    while want.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(OSError, ValueError):
        return {
            key: round(value, 1) if isinstance(value, float) else value
            for key, value in json.loads(path.read_text()).items()
        }
    return {}


def burst(
    server: Server,
    sampler: Sampler,
    args: argparse.Namespace,
    url_file: Path,
    probe: Path | None,
    number: int,
) -> Burst:
    """RSS at idle, during `args.burst` Gemini connections, and once idle again."""
    before = sampler.wait_idle(2.0, 30.0, f"idle-{number}")
    probe_before = read_probe(probe)
    progress(f"burst {number}: {args.burst} connections, {args.burst_concurrency} at once")
    started = time.monotonic()
    with sampler.every(0.2, f"burst-{number}"):
        if args.gemload is not None:
            bound = ["-n", str(args.burst)]
            process = run_gemload(args.gemload, url_file, args.burst_concurrency, bound)
            try:
                result = gemload_result(process, 600)
            finally:
                stop(process, 5)
        else:
            result = trio.run(python_burst, server.gemini_port, args.burst, args.burst_concurrency)
    seconds = time.monotonic() - started
    during = [s for s in sampler.samples if s.phase == f"burst-{number}"] or [before]
    progress(f"burst {number}: waiting for {args.settle:.0f}s of idle")
    after = sampler.wait_idle(args.settle, args.settle + 60, f"settle-{number}")
    return Burst(
        before.rss_mib,
        max(s.rss_mib for s in [before, *during, after]),
        after.rss_mib,
        max(s.threads for s in during),
        after.threads,
        before.fds,
        after.fds,
        int(result["requests"]),
        int(result["errors"]),
        round(seconds, 2),
        probe_before,
        read_probe(probe),
    )


def progress(message: str) -> None:
    print(f"soak: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, temp: Path) -> Result:
    """Start the server, soak it, burst it, and stop it whatever happens."""
    root, state = temp / "capsule", temp / "state"
    make_capsule(args.articles, root)
    probe = temp / "probe.json" if args.probe else None
    experiment = {
        "thread_limit": args.thread_limit,
        "gc_freeze": args.gc_freeze or None,
        "malloc_trim_every": args.malloc_trim_every,
        "gc_collect_every": args.gc_collect_every,
        "release_every": args.release_every,
    }
    patches: dict[str, object] = {key: value for key, value in experiment.items() if value}
    env = dict(pair.split("=", 1) for pair in args.env)
    extra: tuple[str, ...] = ()
    if args.no_page_cache:
        (temp / "soak.toml").write_text("[mirror]\npage_cache_bytes = 0\n")
        extra = ("--config", str(temp / "soak.toml"))
    server = start_server(
        root, state, patches | ({"probe": str(probe)} if probe else {}), env, extra
    )
    try:
        sampler = Sampler(server.process.pid)
        sampler.sample("start")
        url_file = temp / "urls.txt"
        articles = sorted(root.glob("2026/11/2*/*.gmi"))[:10]
        paths = [*GEMINI_PATHS, *("/" + str(a.relative_to(root)) for a in articles)]
        url_file.write_text("".join(f"gemini://localhost:{server.gemini_port}{p}\n" for p in paths))
        summary = soak(server, sampler, args, root, url_file) if args.duration > 0 else {}
        bursts = [
            burst(server, sampler, args, url_file, probe, n) for n in range(1, args.bursts + 1)
        ]
        if server.process.poll() is not None:
            raise RuntimeError("the server died:\n" + "".join(server.lines[-20:]))
    finally:
        stop(server.process)
    return Result(
        {"env": env, **patches, "page_cache": not args.no_page_cache},
        str(args.gemload) if args.gemload else "python",
        sampler.samples,
        summary,
        bursts,
    )


def report(result: Result, as_json: bool, table: bool) -> None:
    bursts = result.bursts
    if as_json:
        print(
            json.dumps(
                {
                    "experiment": result.experiment,
                    "gemini_client": result.gemini_client,
                    "soak": result.soak,
                    "bursts": [{**asdict(b), "ratio": round(b.ratio, 3)} for b in bursts],
                    "first_to_last_ratio": round(bursts[-1].after_mib / bursts[0].before_mib, 3)
                    if bursts
                    else None,
                    "within_target": all(b.ratio <= TARGET_RATIO for b in bursts),
                }
            )
        )
        return
    if table:
        print(f"{'t s':>6} {'phase':<9} {'RSS MiB':>8} {'fds':>5} {'threads':>7} {'cpu %':>6}")
        for s in result.samples:
            print(
                f"{s.at:6.1f} {s.phase:<9} {s.rss_mib:8.1f} {s.fds:5d} {s.threads:7d} "
                f"{s.cpu_share * 100:6.1f}"
            )
    print(f"\nexperiment {result.experiment}, Gemini client {result.gemini_client}")
    if result.soak:
        print(soak_lines(result.soak))
    for number, b in enumerate(bursts, 1):
        verdict = "ok" if b.ratio <= TARGET_RATIO else f"ABOVE {TARGET_RATIO}"
        print(
            f"burst {number}: {b.requests} connections in {b.seconds:.1f}s ({b.errors} errors): "
            f"RSS before {b.before_mib:.1f} MiB, peak {b.peak_mib:.1f}, after "
            f"{b.after_mib:.1f}; after/before {b.ratio:.2f} ({verdict}); threads peak "
            f"{b.threads_peak}, after {b.threads_after}; fds {b.fds_before} -> {b.fds_after}"
        )
        if b.probe_after:
            print(f"         probe before {b.probe_before}\n         probe after  {b.probe_after}")
    if len(bursts) > 1:
        ratio = bursts[-1].after_mib / bursts[0].before_mib
        print(
            f"over {len(bursts)} bursts: RSS {bursts[0].before_mib:.1f} -> "
            f"{bursts[-1].after_mib:.1f} MiB ({ratio:.2f}x)"
        )


def soak_lines(soaked: dict[str, Any]) -> str:
    gemini, mirror = soaked["gemini"], soaked["mirror"]
    return (
        f"soak: Gemini {gemini['requests']:.0f} requests ({gemini['rps']:.0f}/s, "
        f"{gemini['errors']:.0f} errors), mirror {mirror['requests']} requests "
        f"({mirror['searches']} new searches, {mirror['errors']} errors), "
        f"{soaked['articles_written']} articles written\n"
        f"      RSS {soaked['rss_start_mib']} -> {soaked['rss_end_mib']} MiB (max "
        f"{soaked['rss_max_mib']}, {soaked['rss_growth_second_half_mib_per_min']:+} MiB/min "
        f"over the second half); fds {soaked['fds_start']} -> {soaked['fds_end']} (max "
        f"{soaked['fds_max']}); threads max {soaked['threads_max']}"
    )


SETTINGS: tuple[tuple[str, type, float, str], ...] = (
    ("--duration", float, 60, "seconds of mixed load, 0 to skip it"),
    ("--articles", int, 500, "articles in the generated capsule"),
    ("--concurrency", int, 8, "Gemini connections at once during the soak"),
    ("--mirror-connections", int, 4, "keep-alive mirror clients during the soak"),
    ("--write-every", float, 1, "seconds between new articles"),
    ("--bursts", int, 1, "bursts after the soak"),
    ("--burst", int, 2000, "connections per burst"),
    ("--burst-concurrency", int, 64, "connections at once in a burst"),
    (
        "--settle",
        float,
        12,
        "idle seconds before RSS counts as settled (trio's idle threads exit after 10)",
    ),
)
EXPERIMENTS: tuple[tuple[str, type | None, str], ...] = (
    ("--malloc-trim-every", float, "call malloc_trim(0) in the server every SECONDS"),
    ("--gc-collect-every", float, "call gc.collect() in the server every SECONDS"),
    ("--release-every", float, "gc.collect() then malloc_trim(0) every SECONDS"),
    ("--gc-freeze", None, "gc.freeze() what exists once the server is ready"),
    ("--thread-limit", int, "trio's default limit of worker threads (40)"),
    ("--no-page-cache", None, "serve with [mirror] page_cache_bytes = 0"),
    ("--probe", None, "report malloc, Python-object, TLS-stream and SQLite counts at each burst"),
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for flag, kind, default, text in SETTINGS:
        parser.add_argument(flag, type=kind, default=kind(default), help=f"{text} ({default})")
    parser.add_argument("--gemload", type=Path, help="gemload binary (default: the shared one)")
    parser.add_argument("--python-client", action="store_true", help="use Python, not gemload")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line")
    parser.add_argument("--no-table", action="store_true", help="leave out the sample table")
    experiments = parser.add_argument_group("experiments (they patch the server: diagnosis only)")
    experiments.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE",
        help="server environment, e.g. MALLOC_ARENA_MAX=2",
    )  # fmt: skip
    for flag, value, text in EXPERIMENTS:
        if value is None:
            experiments.add_argument(flag, action="store_true", help=text)
        else:
            experiments.add_argument(flag, type=value, metavar="SECONDS" if value is float else "N",
                                     help=text)  # fmt: skip
    args = parser.parse_args()
    args.gemload = None if args.python_client else find_gemload(args.gemload)
    # SIGTERM (from `timeout`, say) becomes a SIGINT, which trio turns into KeyboardInterrupt
    # where it is safe; either cleans up as Ctrl-C does, even in a background job.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    with tempfile.TemporaryDirectory(prefix="capsule-soak-") as temp:
        try:
            result = run(args, Path(temp))
        except* KeyboardInterrupt:
            progress("interrupted; the server and the load generator were stopped")
            sys.exit(130)
    report(result, args.json, not args.no_table)


if __name__ == "__main__":
    main()
