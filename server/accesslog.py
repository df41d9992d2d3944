"""One access-log line per request, written to standard output."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

from server.hostnames import unicode_host

ACCESS_LOGGER = "capsule.access"
ERROR_LOGGER = "capsule"


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """What one exchange did, as the access log reports it."""

    client: str
    host: str
    path: str
    status: int | None
    bytes_sent: int
    duration: float
    protocol: str = "gemini"


def format_access(record: AccessRecord, at: float) -> str:
    """Render a record as one log line: time, protocol, client, host, path, status, bytes, ms."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    status = "-" if record.status is None else str(record.status)
    path = record.path.encode("unicode_escape").decode("ascii").replace(" ", "%20") or "-"
    return (
        f"{stamp} {record.protocol} {record.client} {unicode_host(record.host) or '-'} {path} "
        f"{status} {record.bytes_sent} {record.duration * 1000:.1f}ms"
    )


class AccessLog:
    """Writes access records through the `capsule.access` logger."""

    def __init__(self) -> None:
        self._logger = logging.getLogger(ACCESS_LOGGER)

    def write(self, record: AccessRecord) -> None:
        """Log one exchange."""
        if self._logger.isEnabledFor(logging.INFO):
            self._logger.info(format_access(record, time.time()))


def configure_logging(level: str = "INFO") -> None:
    """Access lines go to stdout, everything else to stderr, each line flushed."""
    access = logging.getLogger(ACCESS_LOGGER)
    access.handlers.clear()
    access.propagate = False
    access_handler = logging.StreamHandler(sys.stdout)
    access_handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(access_handler)
    access.setLevel(logging.INFO)

    errors = logging.getLogger(ERROR_LOGGER)
    errors.handlers.clear()
    errors.propagate = False
    error_handler = logging.StreamHandler(sys.stderr)
    error_handler.setFormatter(
        logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(message)s")
    )
    errors.addHandler(error_handler)
    errors.setLevel(level)
