"""The open-file limit: raise it as far as allowed, and fit the connection caps under it."""

from __future__ import annotations

import dataclasses
import logging
import resource

from server.accesslog import ERROR_LOGGER
from server.settings.config import Config

logger = logging.getLogger(ERROR_LOGGER)

RESERVED_DESCRIPTORS = 64
"""Kept free for listeners, logs, the catalog, certificates and the interpreter itself."""
DESCRIPTORS_PER_CONNECTION = 2
"""A connection's socket, and the file it may be streaming."""


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit; return the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:
            logger.warning("cannot raise the open-file limit from %d to %d: %s", soft, hard, error)
    return soft


def fit_connection_caps(config: Config, open_files: int) -> Config:
    """`config` with `limits.max_connections` lowered, if needed, so that every connection
    the Gemini server and the mirror may hold at once has its descriptors; says so once."""
    listeners = 1 + (config.mirror is not None)
    limits = config.limits
    needed = limits.max_connections * listeners * DESCRIPTORS_PER_CONNECTION
    if needed + RESERVED_DESCRIPTORS <= open_files:
        return config
    per_connection = listeners * DESCRIPTORS_PER_CONNECTION
    fitting = max(1, (open_files - RESERVED_DESCRIPTORS) // per_connection)
    per_ip = min(limits.max_connections_per_ip, fitting)
    logger.warning(
        "the open-file limit is %d, but %d connection(s) of up to %d descriptors each need %d: "
        "lowering limits.max_connections from %d to %d (raise the limit, e.g. LimitNOFILE=, "
        "to serve more)",
        open_files,
        listeners * limits.max_connections,
        DESCRIPTORS_PER_CONNECTION,
        needed + RESERVED_DESCRIPTORS,
        limits.max_connections,
        fitting,
    )
    fitted = dataclasses.replace(limits, max_connections=fitting, max_connections_per_ip=per_ip)
    return dataclasses.replace(config, limits=fitted)
