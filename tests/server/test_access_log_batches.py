"""Access lines go out in batches of whole lines, each small enough for one atomic pipe write."""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import threading
import time
from pathlib import Path

from server.accesslog import BATCH_BYTES, AccessLog, AccessRecord
from tests.harness import CapsuleProcess, write_page
from tests.server.test_access_log_rotation import lines_of, paths, paths_of, request_all


class WritesSeen(io.StringIO):
    """A stream in memory that also keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


LINE = re.compile(r"\S+Z http 192\.0\.2\.1 localhost /page-\d+\.html 200 1234 2\.0ms")


def record(number: int, host: str = "localhost") -> AccessRecord:
    return AccessRecord("192.0.2.1", host, f"/page-{number}.html", 200, 1234, 0.002, "http")


def test_lines_wait_for_a_flush_and_go_out_in_one_write() -> None:
    stream = WritesSeen()
    log = AccessLog(stream)
    for number in range(5):
        log.write(record(number))
    assert stream.getvalue() == ""
    log.flush()
    assert len(stream.writes) == 1
    assert [line.split()[4] for line in stream.getvalue().splitlines()] == [
        f"/page-{number}.html" for number in range(5)
    ]


def test_a_full_batch_goes_out_as_whole_lines_within_the_pipe_limit() -> None:
    stream = WritesSeen()
    log = AccessLog(stream)
    # Hosts outside ASCII take more bytes than characters: batches count bytes.
    for number in range(2000):
        log.write(record(number, "xn--bcher-kva.example" if number % 3 else "localhost"))
    log.flush()
    assert len(stream.writes) > 2000 * 60 // BATCH_BYTES
    for text in stream.writes:
        assert text.endswith("\n")
        assert len(text.encode()) <= BATCH_BYTES
    paths = [line.split()[4] for line in stream.getvalue().splitlines()]
    assert paths == [f"/page-{number}.html" for number in range(2000)]
    assert "bücher.example" in stream.getvalue()


def test_two_logs_sharing_a_full_pipe_never_tear_a_line() -> None:
    """Two logs on one small pipe read slowly, as workers sharing standard output: their
    writers block on a full pipe, and no line is cut by the other's bytes."""
    reading, writing = os.pipe()
    fcntl.fcntl(writing, fcntl.F_SETPIPE_SZ, select.PIPE_BUF)
    received = bytearray()

    def read_slowly() -> None:
        while chunk := os.read(reading, 512):
            received.extend(chunk)
            time.sleep(0.0002)

    reader = threading.Thread(target=read_slowly)
    reader.start()

    def log_lines(stream: io.TextIOWrapper, worker: int) -> None:
        log = AccessLog(stream)
        for number in range(1500):
            log.write(record(worker * 10_000 + number))
        log.flush()

    with (
        open(writing, "w", encoding="utf-8", closefd=False) as first,
        open(writing, "w", encoding="utf-8", closefd=False) as second,
    ):
        writers = [
            threading.Thread(target=log_lines, args=(stream, worker))
            for worker, stream in enumerate((first, second))
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    os.close(writing)
    reader.join()
    os.close(reading)
    lines = received.decode().splitlines()
    assert all(LINE.fullmatch(line) for line in lines)
    numbers = sorted(int(line.split()[4][len("/page-") : -len(".html")]) for line in lines)
    assert numbers == [*range(1500), *range(10_000, 11_500)]


def test_lines_to_standard_output_wait_for_their_batch_even_unbuffered(tmp_path: Path) -> None:
    """PYTHONUNBUFFERED makes sys.stdout write each line at once: the access log keeps its
    own buffer, so lines still go out at the flush interval or at the stop, together."""
    root = tmp_path / "root"
    write_page(root, "index.gmi", "# Home\n")
    with CapsuleProcess(
        "--root", str(root), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        "--access-log-flush", "600", "--requests-per-second", "0",
        state_dir=tmp_path / "state", log_dir=tmp_path, env={"PYTHONUNBUFFERED": "1"},
    ) as capsule:
        request_all(capsule.http_port, "held")
        held = capsule.stdout_path.read_text()
    assert held == ""
    assert paths(lines_of(capsule.stdout_path)) == paths_of("held")
