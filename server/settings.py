"""Settings from a TOML file and the command line, validated into one frozen Config.

The sections `[limits]`, `[mirror]`, `[index]` and `[publication]` take exactly the fields of
their dataclasses; every command-line flag names the key it overrides.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from capsule.publication import PublicationSettings
from capsule.redirects import RedirectRule
from capsule.resources import target_problem
from server.config import (
    Config,
    ConfigError,
    HostConfig,
    IndexSettings,
    Limits,
    ListenAddress,
    MirrorConfig,
)

SECTIONS: dict[str, type] = {
    "limits": Limits,
    "mirror": MirrorConfig,
    "index": IndexSettings,
    "publication": PublicationSettings,
}
TOP_LEVEL = frozenset(
    {
        "root",
        "state_dir",
        "cert_dir",
        "lang",
        "listen",
        "workers",
        "proxy_protocol",
        "trusted_proxies",
        "hosts",
        "redirects",
        "temporary_redirects",
        "logging",
    }
)
HOST_KEYS = frozenset({"name", "root", "cert", "key"})
LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR"})
MUST_BE_POSITIVE = frozenset(
    {
        "workers",
        "limits.request_timeout",
        "limits.exchange_timeout",
        "limits.max_connections",
        "limits.max_connections_per_ip",
        "limits.request_burst",
        "limits.chunk_size",
        "limits.send_timeout",
        "limits.max_page_bytes",
        "mirror.max_requests_per_connection",
        "mirror.max_header_bytes",
        "mirror.keepalive_timeout",
        "index.quick_interval",
        "index.full_interval",
        "publication.feed_size",
        "publication.recent_size",
        "publication.search_results",
    }
)

Values = dict[str, tuple[Any, str]]
"""Dotted key -> (raw value, where it came from), e.g. ("limits.request_timeout", (5, "--x"))."""


def read_file(path: Path) -> Values:
    """Read a TOML file into dotted keys, refusing unknown keys by name."""
    label = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{label}: cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{label}: not valid TOML: {error}") from None
    values: Values = {}
    for key, value in document.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{label}: {key}: must be a table [{key}]")
            names = {field.name for field in dataclasses.fields(SECTIONS[key])} | {"enabled"}
            for name, item in value.items():
                if name not in names:
                    raise ConfigError(f"{label}: unknown key {key}.{name}")
                values[f"{key}.{name}"] = (item, label)
        elif key == "logging":
            for name, item in _table(value, key, label).items():
                if name != "level":
                    raise ConfigError(f"{label}: unknown key logging.{name}")
                values["logging.level"] = (item, label)
        elif key in TOP_LEVEL:
            values[key] = (value, label)
        else:
            raise ConfigError(f"{label}: unknown key {key}")
    return values


def build_config(values: Values, defaults: Mapping[str, Any]) -> Config:
    """Turn merged values (file first, command line over it) into a Config."""
    settings = _Settings(values, defaults)
    hosts = settings.hosts()
    return Config(
        hosts=hosts,
        listen=settings.addresses("listen"),
        state_dir=settings.path("state_dir"),
        default_root=settings.directory("root"),
        lang=settings.optional_text("lang"),
        limits=settings.section("limits", Limits()),
        mirror=settings.mirror(),
        index=settings.section("index", IndexSettings()),
        publication=settings.section("publication", PublicationSettings()),
        redirects=settings.redirects(),
        workers=settings.number("workers", int),
        proxy_protocol=settings.flag("proxy_protocol"),
        trusted_proxies=settings.networks("trusted_proxies"),
        log_level=settings.log_level(),
    )


def _table(value: object, key: str, label: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: {key}: must be a table")
    return value


class _Settings:
    """Looks up each key in the merged values, else its default, and checks its type."""

    def __init__(self, values: Values, defaults: Mapping[str, Any]) -> None:
        self.values = values
        self.defaults = defaults

    def raw(self, key: str) -> tuple[Any, str]:
        if key in self.values:
            return self.values[key]
        return self.defaults.get(key), "default"

    def fail(self, key: str, value: object, reason: str) -> ConfigError:
        origin = self.raw(key)[1]
        return ConfigError(f"{key} ({origin}): {value!r} {reason}")

    def number(self, key: str, kind: type[int] | type[float]) -> Any:
        value, _ = self.raw(key)
        wrong = isinstance(value, bool) or not isinstance(value, int | float)
        if wrong or (kind is int and not isinstance(value, int)):
            raise self.fail(key, value, f"is not {'an integer' if kind is int else 'a number'}")
        if value < 0 or (value == 0 and key in MUST_BE_POSITIVE):
            bound = "greater than 0" if key in MUST_BE_POSITIVE else "0 or more"
            raise self.fail(key, value, f"must be {bound}")
        return kind(value)

    def flag(self, key: str) -> bool:
        value, _ = self.raw(key)
        if not isinstance(value, bool):
            raise self.fail(key, value, "is not true or false")
        return value

    def text(self, key: str) -> str:
        value, _ = self.raw(key)
        if not isinstance(value, str):
            raise self.fail(key, value, "is not a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.raw(key)[0] is None else self.text(key)

    def path(self, key: str) -> Path:
        value, _ = self.raw(key)
        if not isinstance(value, str | Path) or not str(value):
            raise self.fail(key, value, "is not a path")
        return Path(value).expanduser()

    def optional_path(self, key: str) -> Path | None:
        return None if self.raw(key)[0] is None else self.path(key)

    def directory(self, key: str) -> Path:
        path = self.path(key)
        if not path.is_dir():
            raise self.fail(key, str(path), "is not a directory")
        return path

    def addresses(self, key: str) -> tuple[ListenAddress, ...]:
        value, _ = self.raw(key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise self.fail(key, value, "is not a list of ADDRESS:PORT")
        try:
            return tuple(
                item if isinstance(item, ListenAddress) else ListenAddress.parse(str(item), key)
                for item in value
            )
        except ConfigError as error:
            raise self.fail(key, value, str(error).split(": ", 1)[-1]) from None

    def networks(self, key: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        value, _ = self.raw(key)
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            raise self.fail(key, value, "is not a list of addresses or networks")
        try:
            return tuple(ipaddress.ip_network(str(item), strict=False) for item in value)
        except ValueError as error:
            raise self.fail(key, value, f"has an entry that is not an address: {error}") from None

    def section(self, name: str, default: Any) -> Any:
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(default):
            key = f"{name}.{field.name}"
            if key not in self.values:
                continue
            changes[field.name] = self.convert(key, str(field.type), getattr(default, field.name))
        return dataclasses.replace(default, **changes)

    def convert(self, key: str, annotation: str, default: object) -> Any:
        converters: dict[str, Callable[[str], Any]] = {
            "bool": self.flag,
            "int": lambda k: self.number(k, int),
            "float": lambda k: self.number(k, float),
            "str": self.text,
            "str | None": self.optional_text,
            "Path | None": lambda k: self.optional_path(k),
            "tuple[ListenAddress, ...]": self.addresses,
        }
        if annotation not in converters:
            raise ConfigError(f"{key}: cannot be set from the configuration")
        return converters[annotation](key)

    def mirror(self) -> MirrorConfig | None:
        if "mirror.enabled" in self.values and not self.flag("mirror.enabled"):
            return None
        mirror: MirrorConfig = self.section("mirror", MirrorConfig())
        if mirror.templates is not None and not mirror.templates.is_dir():
            raise self.fail("mirror.templates", str(mirror.templates), "is not a directory")
        if mirror.base_url is not None and not mirror.base_url.startswith(("http://", "https://")):
            raise self.fail("mirror.base_url", mirror.base_url, "is not an http(s) URL")
        return mirror

    def hosts(self) -> tuple[HostConfig, ...]:
        value, origin = self.raw("hosts")
        if not isinstance(value, list) or not value:
            raise self.fail("hosts", value, "must list at least one host")
        cert_dir = self.optional_path("cert_dir")
        hosts = tuple(self._host(item, index, origin, cert_dir) for index, item in enumerate(value))
        names = [host.name for host in hosts]
        if len(set(names)) != len(names):
            raise self.fail("hosts", names, "names a host twice")
        return hosts

    def _host(self, item: object, index: int, origin: str, cert_dir: Path | None) -> HostConfig:
        key = f"hosts[{index}]"
        if isinstance(item, HostConfig):
            if not _is_host_name(item.name):
                raise ConfigError(f"{key} ({origin}): {item.name!r} is not a host name")
            host = item
        else:
            table = _table(item, key, origin)
            for field_name in table:
                if field_name not in HOST_KEYS:
                    raise ConfigError(f"{origin}: unknown key {key}.{field_name}")
            name = table.get("name")
            if not isinstance(name, str) or not _is_host_name(name):
                raise ConfigError(
                    f"{key}.name ({origin}): {name!r} is not a host name (use the xn-- form "
                    "for international names)"
                )
            paths = {}
            for field in ("root", "cert", "key"):
                if field in table:
                    if not isinstance(table[field], str) or not table[field]:
                        raise ConfigError(
                            f"{key}.{field} ({origin}): {table[field]!r} is not a path"
                        )
                    paths[field] = Path(table[field]).expanduser()
            host = HostConfig(name.lower().rstrip("."), **paths)
        if host.root is not None and not host.root.is_dir():
            raise ConfigError(f"{key}.root ({origin}): {str(host.root)!r} is not a directory")
        if (host.cert is None) != (host.key is None):
            raise ConfigError(f"{key} ({origin}): cert and key must be given together")
        if host.cert is None and cert_dir is not None and (cert_dir / host.name).is_dir():
            pair = cert_dir / host.name
            host = dataclasses.replace(host, cert=pair / "cert.pem", key=pair / "key.pem")
        return host

    def redirects(self) -> tuple[RedirectRule, ...]:
        rules: list[RedirectRule] = []
        for key, permanent in (("redirects", True), ("temporary_redirects", False)):
            value, origin = self.raw(key)
            for source, target in _table(value or {}, key, origin).items():
                if not source.startswith("/") or not isinstance(target, str) or not target:
                    raise ConfigError(
                        f"{key} ({origin}): {source!r} = {target!r}: a redirect maps an "
                        "absolute path to a path or URL"
                    )
                if (problem := target_problem(target)) is not None:
                    raise ConfigError(
                        f"{key} ({origin}): {source!r} = {target!r}: bad target ({problem})"
                    )
                rules.append(RedirectRule(source, target, permanent))
        return tuple(rules)

    def log_level(self) -> str:
        level = self.text("logging.level").upper()
        if level not in LOG_LEVELS:
            raise self.fail(
                "logging.level", level, f"is not one of {', '.join(sorted(LOG_LEVELS))}"
            )
        return level


_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


def _is_host_name(name: str) -> bool:
    """A DNS name in ASCII (IDNA `xn--` form for international names) or an IP address."""
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    labels = name.rstrip(".").split(".")
    return len(name) <= 253 and all(_HOST_LABEL.match(label) for label in labels)
