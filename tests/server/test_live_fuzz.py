"""Hostile traffic against the real servers on loopback: a few hundred seeded, malformed requests,
each on its own connection; every answer is well-formed, and both servers keep serving."""

from __future__ import annotations

import contextlib
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h11
import pytest
import trio

from server.accesslog import ERROR_LOGGER, AccessLog
from server.assemble import catalogs_of
from server.gemini.protocol import MAX_META_BYTES
from server.mirror.server import MirrorServer
from server.mirror.site import build_mirror
from server.settings.config import Config, HostConfig, LimitSettings, ListenAddress, MirrorSettings
from tests.harness import StartServer, fetch, open_tls

SEED = 1965
CASES = 250
PARALLEL = 16
CONNECTION_TIMEOUT = 10
"""A bound on each connection, so a hang fails the test instead of stalling it; not asserted."""
LIMITS = LimitSettings(
    requests_per_second=0,
    request_timeout=1.0,
    max_connections_per_ip=4 * PARALLEL,
)
"""A short request timeout ends the unfinished requests quickly; no rate limit, and room for
every parallel connection even before the server has released the previous ones."""

GEMINI_HEADER = re.compile(rb"[1-6][0-9] [^\r\n]*")
HTTP_STATUS_LINE = re.compile(rb"HTTP/1\.1 [1-5][0-9][0-9] [^\r\n]*\r\n")
TLS_ALERT = 0x15
TLS_APPLICATION_DATA = 0x17


@dataclass(frozen=True)
class Case:
    """One hostile connection: what to send, how to end it, and what must come back."""

    kind: str
    data: bytes
    mode: str = "send"
    """`send`: send and read until the server closes; `eof`: also half-close our side first;
    `abandon`: send and close at once; `pre_tls`/`after_tls` (Gemini): raw bytes on TCP before
    or instead of TLS records."""
    must_answer: bool = False
    methods: tuple[bytes, ...] = (b"GET",)
    """The methods of the requests sent, in order, to frame the responses (HEAD has no body)."""


@dataclass(frozen=True)
class Received:
    """The bytes the server sent, and whether the connection ended in a reset."""

    data: bytes
    reset: bool


def mutate(rng: random.Random, data: bytes) -> bytes:
    """`data` with a few bytes replaced, inserted or deleted."""
    raw = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(raw))
        raw[at : at + rng.randint(0, 1)] = rng.randbytes(rng.randint(0, 2))
    return bytes(raw)


class ErrorRecords(logging.Handler):
    """Keeps the records of errors logged while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """Errors the servers log while the test runs: a handler that crashed logs one."""
    handler = ErrorRecords()
    logger = logging.getLogger(ERROR_LOGGER)
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


async def each_in_parallel(cases: list[Case], check: Callable[[Case], Awaitable[None]]) -> None:
    """Run `check` for every case, PARALLEL at a time; the first failure fails the test."""
    limiter = trio.CapacityLimiter(PARALLEL)

    async def one(case: Case) -> None:
        async with limiter:
            await check(case)

    async with trio.open_nursery() as nursery:
        for case in cases:
            nursery.start_soon(one, case)


async def receive_all(stream: trio.abc.ReceiveStream) -> Received:
    """Everything until the server closes; a reset ends it too, and is noted."""
    data = bytearray()
    try:
        while chunk := await stream.receive_some(65536):
            data += chunk
    except trio.BrokenResourceError:
        return Received(bytes(data), reset=True)
    return Received(bytes(data), reset=False)


# --- Gemini ---------------------------------------------------------------------------------------

URL = "gemini://localhost/"


def gemini_cases(rng: random.Random, port: int) -> list[Case]:
    """Seeded hostile Gemini traffic: one case per entry, kinds drawn in turn."""
    here = f"gemini://localhost:{port}/"

    def line(url: bytes, ending: bytes = b"\r\n") -> bytes:
        return url + ending

    makers: list[Callable[[], Case]] = [
        lambda: Case("garbage", rng.randbytes(rng.randint(1, 3000)), must_answer=True),
        lambda: Case(
            "over-long line",
            line(URL.encode() + b"a" * rng.randint(1006, 12000)),
            must_answer=True,
        ),
        lambda: Case(
            "over-long, no end",
            URL.encode() + b"b" * rng.randint(1006, 12000),
            must_answer=True,
        ),
        lambda: Case("missing CRLF", URL.encode() + b"x" * rng.randint(0, 50), must_answer=True),
        lambda: Case("bare LF", line(URL.encode(), b"\n"), must_answer=True),
        lambda: Case("bare CR", line(URL.encode(), b"\r"), must_answer=True),
        lambda: Case("LF CR", line(URL.encode(), b"\n\r"), must_answer=True),
        lambda: Case("NUL", line(URL.encode() + rng.choice([b"\x00", b"%00", b"a\x00b"])),
                     must_answer=True),
        lambda: Case(
            "invalid UTF-8",
            line(URL.encode() + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"%ff", b"%c3"])),
            must_answer=True,
        ),
        lambda: Case(
            "huge percent-escapes",
            line(URL.encode() + rng.choice([b"%41", b"%2e%2e/", b"%", b"%zz"]) * rng.randint(
                50, 400)),
            must_answer=True,
        ),
        lambda: Case(
            "wrong scheme",
            line(rng.choice([b"https", b"http", b"gopher", b"GEMINI", b"", b"file"]) + b"://"
                 + b"localhost/"),
            must_answer=True,
        ),
        lambda: Case(
            "other host",
            line(rng.choice([b"gemini://evil.example/", b"gemini://localhost.evil/",
                             b"gemini://localhost:1/", b"gemini://[::1/", b"gemini:///",
                             b"gemini://localhost:99999/", b"gemini://%6cocalhost/"])),
            must_answer=True,
        ),
        lambda: Case(
            "userinfo",
            line(rng.choice([b"gemini://user@localhost/", b"gemini://a:b@localhost/",
                             b"gemini://localhost\\@evil/"])),
            must_answer=True,
        ),
        lambda: Case("fragment", line(URL.encode() + b"index.gmi#" + rng.randbytes(3).hex()
                                      .encode()), must_answer=True),
        lambda: Case(
            "dot segments",
            line(URL.encode() + b"/".join(rng.choice([b"..", b".", b"%2e%2e", b"..%2f", b"docs"])
                                          for _ in range(rng.randint(1, 8)))),
            must_answer=True,
        ),
        lambda: Case(
            "mutated", mutate(rng, line(here.encode() + b"docs/index.gmi?q=1")), must_answer=True
        ),
        lambda: Case("half request, then close", URL.encode()[: rng.randint(1, 18)],
                     mode="abandon"),
        lambda: Case(
            "bytes before the handshake",
            rng.choice(
                [b"gemini://localhost/\r\n", b"GET / HTTP/1.1\r\n\r\n",
                 b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc",
                 rng.randbytes(rng.randint(1, 600))]
            ),
            mode="pre_tls",
        ),
        lambda: Case("plain bytes after the handshake", rng.randbytes(rng.randint(1, 100)),
                     mode="after_tls"),
        lambda: Case(
            "titan, huge size, no certificate",
            line(f"titan://localhost:{port}/notes/a.gmi;size={rng.randint(10**6, 10**12)}"
                 .encode()) + rng.randbytes(rng.randint(0, 2000)),
            must_answer=True,
        ),
        lambda: Case("valid", line(here.encode()), must_answer=True),
    ]
    return [makers[index % len(makers)]() for index in range(CASES)]


def check_gemini_answer(case: Case, data: bytes) -> None:
    """A response, if any, starts with one header: two digits, a space, meta, CRLF."""
    if not data:
        assert not case.must_answer, case
        return
    header, crlf, _ = data.partition(b"\r\n")
    assert crlf, (case, data[:200])
    assert GEMINI_HEADER.fullmatch(header), (case, header)
    assert len(header) - 3 <= MAX_META_BYTES, case
    header.decode("utf-8")


def record_types(data: bytes) -> set[int]:
    """The content types of the whole TLS records `data` consists of."""
    types, position = set(), 0
    while position < len(data):
        assert data[position + 1 : position + 3] == b"\x03\x03", data[position : position + 5]
        types.add(data[position])
        position += 5 + int.from_bytes(data[position + 3 : position + 5], "big")
    assert position == len(data), "a record was cut short"
    return types


async def attempt_gemini(port: int, case: Case) -> None:
    with trio.fail_after(CONNECTION_TIMEOUT):
        if case.mode == "pre_tls":
            tcp = await trio.open_tcp_stream("127.0.0.1", port)
            await tcp.send_all(case.data)
            received = await receive_all(tcp)
            await trio.aclose_forcefully(tcp)
            # Whatever a server says to a client that is not speaking TLS is a TLS alert.
            assert not received.data or received.data[0] == TLS_ALERT, (case, received)
            return
        tls = await open_tls(port)
        if case.mode == "after_tls":
            await tls.transport_stream.send_all(case.data)
            received = await receive_all(tls.transport_stream)
            await trio.aclose_forcefully(tls)
            # After a TLS 1.3 handshake the alert is encrypted (a record of type 23), behind
            # the session ticket held back until the server's next write: only whole TLS
            # records, of those two types, may come back.
            assert record_types(received.data) <= {TLS_ALERT, TLS_APPLICATION_DATA}, case
            return
        await tls.send_all(case.data)
        if case.mode == "abandon":
            await trio.aclose_forcefully(tls)
            return
        received = await receive_all(tls)
        await trio.aclose_forcefully(tls)
    check_gemini_answer(case, received.data)


async def test_gemini_server_answers_hostile_requests_with_well_formed_headers(
    start_server: StartServer, server_errors: list[logging.LogRecord]
) -> None:
    server = await start_server(limits=LIMITS)
    cases = gemini_cases(random.Random(SEED), server.port)

    async def check(case: Case) -> None:
        await attempt_gemini(server.port, case)

    await each_in_parallel(cases, check)
    response = await fetch(server.port, "gemini://localhost/")
    assert response.status == 20 and response.body.startswith(b"# Welcome")
    assert [record.getMessage() for record in server_errors] == []


# --- HTTP mirror ----------------------------------------------------------------------------------


async def start_mirror(nursery: trio.Nursery, root: Path, state: Path) -> int:
    """An in-process mirror of `root` on 127.0.0.1, as the mirror tests start one; it stops
    when the test's nursery is cancelled."""
    config = Config(
        hosts=(HostConfig("localhost"),),
        listen=(ListenAddress("127.0.0.1", 0),),
        state_dir=state,
        default_root=root,
        limits=LIMITS,
        mirror=MirrorSettings(keepalive_timeout=1.0),
    )
    mirror, names = build_mirror(config)
    for catalog in catalogs_of(mirror.capsules):
        catalog.refresh()
    assert config.mirror is not None
    server = MirrorServer(mirror, names, config.limits, config.mirror, AccessLog())
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    nursery.start_soon(server.serve, listeners, trio.Event())
    return int(listeners[0].socket.getsockname()[1])


def head(
    method: bytes = b"GET",
    target: bytes = b"/",
    version: bytes = b"HTTP/1.1",
    fields: tuple[bytes, ...] = (b"Host: localhost",),
    ending: bytes = b"\r\n",
) -> bytes:
    """A request head; every part can be replaced by something hostile."""
    return ending.join([b" ".join([method, target, version]), *fields]) + ending + ending


def http_cases(rng: random.Random) -> list[Case]:
    """Seeded hostile HTTP traffic: one case per entry, kinds drawn in turn."""

    def mode() -> str:
        return rng.choice(["send", "eof"])

    def pipelined() -> Case:
        methods = tuple(rng.choice([b"GET", b"HEAD"]) for _ in range(rng.randint(2, 5)))
        targets = [b"/", b"/docs/", b"/notes.txt", b"/missing", b"/docs"]
        data = b"".join(head(method, rng.choice(targets)) for method in methods)
        return Case("pipelined", data, mode(), must_answer=True, methods=methods)

    makers: list[Callable[[], Case]] = [
        lambda: Case("garbage", rng.randbytes(rng.randint(1, 3000)), mode()),
        lambda: Case(
            "bad method",
            head(method=rng.choice([b"POST", b"DELETE", b"get", b"G\x00T", b"GET GET", b"",
                                    b"\xff\xfe", rng.randbytes(5).hex().encode()])),
            mode(),
            must_answer=True,
        ),
        lambda: Case(
            "bad version",
            head(version=rng.choice([b"HTTP/2.0", b"HTTP/1.2", b"HTTP/0.9", b"http/1.1", b"",
                                     b"HTTP/1.1 x", b"HTTP/1", b"HTTP/11"])),
            mode(),
            must_answer=True,
        ),
        lambda: Case("HTTP/0.9", b"GET /\r\n", "eof"),
        lambda: Case(
            "header injection",
            head(fields=(b"Host: localhost", rng.choice(
                [b"X-A: a\rX-B: b", b"X-A: a\x00b", b"X-A: a\nX-B: b", b"Host : localhost",
                 b"X A: b", b": no name", b"X-A:\x7f", b"Host: localhost\r\rX: y"]))),
            mode(),
            must_answer=True,
        ),
        lambda: Case(
            "CL and TE",
            head(fields=(b"Host: localhost", b"Content-Length: 5",
                         b"Transfer-Encoding: chunked")) + b"0\r\n\r\n",
            mode(),
            must_answer=True,
        ),
        lambda: Case(
            "duplicate Content-Length",
            head(fields=(b"Host: localhost", b"Content-Length: 3",
                         rng.choice([b"Content-Length: 3", b"Content-Length: 4",
                                     b"Content-Length: 3, 4"]))) + b"abcd",
            mode(),
            must_answer=True,
        ),
        lambda: Case(
            "obs-fold",
            head(fields=(b"Host: localhost", b"X-Folded: a", rng.choice([b" b", b"\tb"]))),
            mode(),
            must_answer=True,
        ),
        lambda: Case(
            "huge headers",
            head(fields=(b"Host: localhost",
                         *(b"X-Big-%d: " % n + b"x" * 1000 for n in range(rng.randint(17, 40))))),
            mode(),
        ),
        lambda: Case(
            "huge header line",
            head(fields=(b"Host: localhost", b"X-Big: " + b"y" * rng.randint(17_000, 40_000))),
            mode(),
        ),
        pipelined,
        lambda: Case("half-closed", head(), "eof", must_answer=True),
        lambda: Case("half request, then close", head()[: rng.randint(1, 20)], "abandon"),
        lambda: Case("head without its end", head()[:-2], mode()),
        lambda: Case("bare LF", head(ending=b"\n"), mode(), must_answer=True),
        lambda: Case(
            "other host",
            head(fields=(rng.choice([b"Host: evil.example", b"Host: localhost:x", b"Host: [::1",
                                     b"Host:", b"X: no host"]),)),
            mode(),
            must_answer=True,
        ),
        lambda: Case(
            "hostile target",
            head(target=rng.choice(
                [b"*", b"//evil.example/", b"/%2e%2e/%2e%2e/etc/passwd", b"/%00", b"/%ff",
                 b"/a#b", b"http://evil.example/", b"http://localhost/..%2f..%2f",
                 b"localhost:80", b"/" + b"%41" * rng.randint(100, 3000)])),
            mode(),
            must_answer=True,
        ),
        lambda: Case(
            "body",
            rng.choice([
                head(fields=(b"Host: localhost", b"Content-Length: 4")) + b"abcd",
                head(fields=(b"Host: localhost", b"Transfer-Encoding: chunked"))
                + b"4\r\nabcd\r\n0\r\n\r\n",
                head(fields=(b"Host: localhost", b"Transfer-Encoding: chunked"))
                + b"zz\r\nnot chunked\r\n",
            ]),
            mode(),
        ),
        lambda: Case("mutated", mutate(rng, head(target=b"/docs/?q=1")), mode()),
        lambda: Case("valid", head(), mode(), must_answer=True),
    ]
    return [makers[index % len(makers)]() for index in range(CASES)]


def http_statuses(received: Received, methods: tuple[bytes, ...]) -> list[int]:
    """The statuses of the whole, well-framed responses in `received`, read as a client would."""
    client = h11.Connection(h11.CLIENT)
    client.receive_data(received.data)
    if not received.reset:
        client.receive_data(b"")
    statuses: list[int] = []
    for method in methods:
        client.send(h11.Request(method=method, target="/", headers=[("Host", "localhost")]))
        client.send(h11.EndOfMessage())
        while not isinstance(event := client.next_event(), h11.EndOfMessage):
            if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return statuses
            if isinstance(event, h11.Response):
                statuses.append(event.status_code)
        if client.their_state is not h11.DONE:
            break
        client.start_next_cycle()
    return statuses


def check_http_answer(case: Case, received: Received) -> None:
    """Responses, if any, start with an HTTP/1.1 status line and are framed as HTTP says."""
    if not received.data:
        assert not case.must_answer, case
        return
    if received.reset:
        # A reset can cut a response short, even its status line: check what arrived of it.
        first_line = received.data.partition(b"\r\n")[0]
        assert HTTP_STATUS_LINE.match(received.data) or b"HTTP/1.1 ".startswith(first_line[:9])
        return
    assert HTTP_STATUS_LINE.match(received.data), (case, received.data[:200])
    statuses = http_statuses(received, case.methods)
    assert statuses, (case, received.data[:500])
    if case.kind == "pipelined":
        assert len(statuses) == len(case.methods), (case, statuses)


async def attempt_http(port: int, case: Case) -> None:
    with trio.fail_after(CONNECTION_TIMEOUT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            # Refused before everything was sent: whatever answer came is still read below.
            with contextlib.suppress(trio.BrokenResourceError):
                await stream.send_all(case.data)
                if case.mode == "eof":
                    await stream.send_eof()
            if case.mode == "abandon":
                return
            received = await receive_all(stream)
    check_http_answer(case, received)


async def test_mirror_answers_hostile_requests_with_well_formed_responses(
    nursery: trio.Nursery,
    capsule_root: Path,
    tmp_path: Path,
    server_errors: list[logging.LogRecord],
) -> None:
    port = await start_mirror(nursery, capsule_root, tmp_path / "state")
    cases = http_cases(random.Random(SEED))

    async def check(case: Case) -> None:
        await attempt_http(port, case)

    await each_in_parallel(cases, check)
    received = await send_one(port, head(fields=(b"Host: localhost", b"Connection: close")))
    assert http_statuses(received, (b"GET",)) == [200]
    assert [record.getMessage() for record in server_errors] == []


async def test_mirror_refuses_an_absolute_target_with_an_unclosed_bracket_as_bad_request(
    nursery: trio.Nursery, capsule_root: Path, tmp_path: Path
) -> None:
    port = await start_mirror(nursery, capsule_root, tmp_path / "state")
    request = head(target=b"http://[::1/", fields=(b"Host: localhost", b"Connection: close"))
    received = await send_one(port, request)
    assert http_statuses(received, (b"GET",)) == [400]


async def send_one(port: int, data: bytes) -> Received:
    """Send `data` on a new connection and read until the server closes it."""
    with trio.fail_after(CONNECTION_TIMEOUT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(data)
            return await receive_all(stream)


# --- Paths the rules hide, asked for through symlinks ---------------------------------------------

HIDDEN_WORDS = (b"swordfish", b"marlin", b"halibut", b"grouper", b"sturgeon")
"""One word in each page that some rule hides; no answer of either server may carry one."""
HIDDEN_TITLES = ("Secret", "Plan", "Soon", "Shut", "Gone")
"""What a search asks for: the titles, so that a hidden word can only come from a hit."""
HIDDEN_PAGES = {
    "members/2026-01-02-secret.gmi": "# Secret\nswordfish\n",
    "drafts/2026-01-02-plan.gmi": "# Plan\nmarlin\n",
    "later/2026-01-02-soon.gmi": "# Soon\nhalibut\n",
    "closed/2026-01-02-shut.gmi": "# Shut\ngrouper\n",
    "old/2026-01-02-gone.gmi": "# Gone\nsturgeon\n",
}
LINKS = {
    "pub/leak.gmi": "../members/2026-01-02-secret.gmi",
    "pub/2026-01-03-draft.gmi": "../drafts/2026-01-02-plan.gmi",
    "pub/soon.gmi": "../later/2026-01-02-soon.gmi",
    "pub/shut.gmi": "../closed/2026-01-02-shut.gmi",
    "pub/gone.gmi": "../old/2026-01-02-gone.gmi",
    "pub/mdir": "../members",
    "pub/cdir": "../closed",
    "pub/index.gmi": "../members/2026-01-02-secret.gmi",
}


def hide_behind_rules_and_links(root: Path) -> list[str]:
    """Pages under every kind of rule, a `.meta` that cannot be read, and symlinks to them
    from a public directory; returns the URL paths worth asking for."""
    (root / ".meta").write_text(
        "members/ protect=any\ndrafts/ draft\nlater/* published=2999-01-01\nold/* gone\n"
        "/ listing\n"
    )
    for path, text in HIDDEN_PAGES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "closed" / ".meta").mkdir()  # cannot be read as a file, whoever the server runs as
    for path, target in LINKS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).symlink_to(target)
    through = ["/pub/mdir/2026-01-02-secret.gmi", "/pub/cdir/2026-01-02-shut.gmi"]
    lists = ["/", "/pub/", "/pub/mdir/", "/pub/cdir/", "/feed.gmi", "/atom.xml", "/archive/",
             "/archive/2026/01/", *(f"/search?{title}" for title in HIDDEN_TITLES)]
    return [*(f"/{path}" for path in LINKS), *through, *lists]


def path_variants(rng: random.Random, paths: list[str]) -> list[str]:
    """Seeded spellings of `paths`: escapes, dot segments, doubled and trailing slashes."""
    variants = []
    for _ in range(CASES // 2):
        path = rng.choice(paths)
        shape = rng.randrange(5)
        if shape == 0:
            path = "".join(f"%{ord(c):02X}" if c.isalpha() and rng.random() < 0.3 else c
                           for c in path)
        elif shape == 1:
            path = path.replace("/pub/", rng.choice(["/pub/./", "/x/../pub/", "/pub/mdir/../"]))
        elif shape == 2:
            path = path.replace("/", "//", 1)
        elif shape == 3:
            path = path.rstrip("/") + rng.choice(["/", "", "/."])
        variants.append(path)
    return variants


async def test_no_gemini_answer_through_a_symlink_carries_what_the_rules_hide(
    start_server: StartServer, capsule_root: Path
) -> None:
    paths = hide_behind_rules_and_links(capsule_root)
    server = await start_server(limits=LIMITS)
    for catalog in catalogs_of(server.server.site.capsules):
        await trio.to_thread.run_sync(catalog.refresh)
    results = [
        await fetch(server.port, f"gemini://localhost{path}")
        for path in [*paths, *path_variants(random.Random(SEED), paths)]
    ]
    assert any(response.status == 20 for response in results)
    for response in results:
        for word in HIDDEN_WORDS:
            assert word not in response.body, (response.header, word)


async def test_no_mirror_answer_through_a_symlink_carries_what_the_rules_hide(
    nursery: trio.Nursery, capsule_root: Path, tmp_path: Path
) -> None:
    paths = hide_behind_rules_and_links(capsule_root)
    port = await start_mirror(nursery, capsule_root, tmp_path / "state")
    mirror_paths = [
        path.replace(".gmi", ".html").replace("/search?", "/search?q=")
        for path in [*paths, *path_variants(random.Random(SEED), paths)]
    ]
    statuses = []
    for path in mirror_paths:
        request = head(target=path.encode(), fields=(b"Host: localhost", b"Connection: close"))
        received = await send_one(port, request)
        statuses += http_statuses(received, (b"GET",))
        for word in HIDDEN_WORDS:
            assert word not in received.data, (path, word)
    assert 200 in statuses and 403 in statuses
