"""A throttled log: at most one record per interval, and a count of those left out."""

from __future__ import annotations

import logging

import pytest

from server.throttled_log import ThrottledLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log(clock: Clock) -> ThrottledLog:
    return ThrottledLog(logging.getLogger("capsule.test"), interval=1.0, clock=clock)


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_records_within_the_interval_are_left_out(
    log: ThrottledLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    assert log.warning("cannot accept: %s", "EMFILE")
    clock.now += 0.5
    assert not log.warning("cannot accept: %s", "EMFILE")
    assert messages(caplog) == ["cannot accept: EMFILE"]


def test_the_next_record_counts_those_left_out(
    log: ThrottledLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(4):
        log.warning("cannot accept")
        clock.now += 0.3
    clock.now += 0.3
    log.warning("cannot accept")
    assert messages(caplog) == ["cannot accept", "cannot accept (3 more like it not logged)"]


def test_exception_logs_the_traceback_at_error(
    log: ThrottledLog, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        raise RuntimeError("broke")
    except RuntimeError:
        log.exception("refresh of %s failed", "/srv")
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "refresh of /srv failed"
    assert record.exc_info is not None and str(record.exc_info[1]) == "broke"
