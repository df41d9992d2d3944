"""Logging a recurring failure at most once per interval, counting the records left out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledLog:
    """Passes records to `logger` unless one passed less than `interval` seconds before.

    The next record that passes says how many were left out since the last. For one task's
    use (e.g. a trio loop): it takes no lock.
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        self._left_out = 0

    def log(self, level: int, message: str, *args: object, exc_info: bool = False) -> bool:
        """Log the record unless it comes too soon after the last; return whether it was."""
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self._left_out += 1
            return False
        if self._left_out:
            message += " (%d more like it not logged)"
            args = (*args, self._left_out)
        self.logger.log(level, message, *args, exc_info=exc_info)
        self._last, self._left_out = now, 0
        return True

    def warning(self, message: str, *args: object) -> bool:
        """A warning, without traceback."""
        return self.log(logging.WARNING, message, *args)

    def exception(self, message: str, *args: object) -> bool:
        """An error with the traceback of the exception being handled."""
        return self.log(logging.ERROR, message, *args, exc_info=True)
