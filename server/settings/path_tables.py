"""What every path-rule table of the configuration file shares ([[protect]], [[titan]]): its
keys, its `paths` and its `host`, each problem named by its key."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from capsule.rules.meta import relative_pattern
from server.settings.config import ConfigError


def check_keys(table: Mapping[str, Any], known: Collection[str], key: str, origin: str) -> None:
    """Refuse a key the table does not have."""
    for name in table:
        if name not in known:
            raise ConfigError(f"{origin}: unknown key {key}.{name}")


def table_paths(table: Mapping[str, Any], key: str, origin: str, example: str) -> list[str]:
    """The table's `paths` (one string or a list) as patterns relative to the root."""
    paths = table.get("paths")
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise ConfigError(f"{key}.paths ({origin}): {paths!r} is not a list of path patterns")
    patterns = []
    for path in paths:
        relative = relative_pattern(path) if path.startswith("/") else None
        if relative is None:
            raise ConfigError(
                f"{key}.paths ({origin}): {path!r} is not a path pattern from the root, such as "
                f"{example} (no '.', '..' or empty segments)"
            )
        patterns.append(relative)
    return patterns


def table_host(table: Mapping[str, Any], key: str, origin: str, hosts: list[str]) -> str | None:
    """The table's `host`, one of the configured `hosts`, or None for every host."""
    host = table.get("host")
    if host is None:
        return None
    if not isinstance(host, str) or host.lower().rstrip(".") not in hosts:
        raise ConfigError(
            f"{key}.host ({origin}): {host!r} is not one of the hosts ({', '.join(hosts)})"
        )
    return host.lower().rstrip(".")
