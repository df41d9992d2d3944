"""Settings from a TOML file and the command line, validated into one frozen Config.

Each setting is declared once, on a field of Config or of the sections `[limits]`, `[mirror]`,
`[https]`, `[index]`, `[publication]` and `[robots]`: its key, real type, default and bound drive
the reading, the conversion and the messages here, and the flags of the command line. Hosts,
redirects, protected paths, `[[titan]]` tables (`server.settings.titan`) and `mirror.enabled`
(there is no mirror at all when it is false) keep dedicated code.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from capsule.publication.generated import PublicationSettings
from capsule.publication.robots import RobotsSettings
from capsule.resources import target_problem
from capsule.rules.access import Fingerprint, ProtectRule, parse_fingerprint, parse_protection
from capsule.rules.redirects import RedirectRule
from capsule.setting import Bound, Declaration, declaration_of
from certs import operator_files
from server.hostnames import HostNameError, ascii_host
from server.settings.config import (
    LOG_LEVELS,
    METRICS_HOST,
    Config,
    ConfigError,
    HostConfig,
    HttpsSettings,
    IndexSettings,
    LimitSettings,
    ListenAddress,
    MirrorSettings,
    ProtectedPaths,
)
from server.settings.path_tables import check_keys, table_host, table_paths
from server.settings.titan import titan_tables

SECTIONS: dict[str, type] = {
    "limits": LimitSettings,
    "mirror": MirrorSettings,
    "https": HttpsSettings,
    "index": IndexSettings,
    "publication": PublicationSettings,
    "robots": RobotsSettings,
}


@dataclass(frozen=True, slots=True)
class Setting:
    """One declared setting: its configuration key, the field it fills, its type and default."""

    key: str
    """The dotted configuration key, e.g. `limits.request_timeout` or `root`."""
    section: str | None
    """The section whose dataclass holds the field; None for a field of Config itself."""
    name: str
    kind: Any
    """The field's real type, from `typing.get_type_hints`."""
    default: Any
    """The field's default; `dataclasses.MISSING` when the command line computes it at start."""
    declaration: Declaration

    @property
    def flag(self) -> str | None:
        """The command-line flag, or None for a setting of the file only."""
        return self.declaration.flag

    @property
    def shown_default(self) -> str | None:
        """The default as the help and the README show it; None when there is none to show."""
        if self.declaration.shown_default is not None:
            return self.declaration.shown_default
        return _shown(self.default)


def _shown(value: object) -> str | None:
    if value is None or value is dataclasses.MISSING or value in ((), ""):
        return None
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def without_none(kind: Any) -> Any:
    """`X` for a type `X | None`; any other type as it is."""
    parts = typing.get_args(kind)
    if typing.get_origin(kind) in (types.UnionType, typing.Union) and type(None) in parts:
        (inner,) = (part for part in parts if part is not type(None))
        return inner
    return kind


def _declared(cls: type, section: str | None) -> list[Setting]:
    """The settings declared on the fields of `cls`; every field of a section is one."""
    kinds = typing.get_type_hints(cls)
    found = []
    for field in dataclasses.fields(cls):
        declaration = declaration_of(field)
        if declaration is None:
            if section is not None:
                raise TypeError(f"{cls.__name__}.{field.name} is not declared as a setting")
            continue
        name = declaration.key or field.name
        key = f"{section}.{name}" if section else name
        kind = kinds[field.name]
        found.append(Setting(key, section, field.name, kind, field.default, declaration))
    return found


SETTINGS: dict[str, Setting] = {
    setting.key: setting
    for cls, section in ((Config, None), *((cls, name) for name, cls in SECTIONS.items()))
    for setting in _declared(cls, section)
}
"""Every declared setting by its configuration key, top-level ones first, in field order."""

DEDICATED_KEYS = frozenset(
    {"redirects", "temporary_redirects", "protect", "titan", "mirror.enabled"}
)
"""Keys read by dedicated code rather than from a field's declaration."""

_KNOWN_KEYS = frozenset(SETTINGS) | DEDICATED_KEYS
_TABLES = frozenset(key.partition(".")[0] for key in _KNOWN_KEYS if "." in key)
HOST_KEYS = frozenset({"name", "root", "cert", "key"})
PROTECT_KEYS = frozenset({"paths", "identities", "host"})

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
        if key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{label}: {key}: must be a table [{key}]")
            for name, item in value.items():
                if f"{key}.{name}" not in _KNOWN_KEYS:
                    raise ConfigError(f"{label}: unknown key {key}.{name}")
                values[f"{key}.{name}"] = (item, label)
        elif key in _KNOWN_KEYS:
            values[key] = (value, label)
        else:
            raise ConfigError(f"{label}: unknown key {key}")
    return values


def build_config(values: Values, defaults: Mapping[str, Any]) -> Config:
    """Turn merged values (file first, command line over it) into a Config.

    `defaults` holds the values of the settings that the command line computes at start.
    """
    settings = _Settings(values, defaults)
    top = {
        setting.name: settings.value(setting)
        for setting in SETTINGS.values()
        if setting.section is None and setting.key != "hosts"
    }
    top["default_root"] = settings.directory("root", top["default_root"])
    top["log_level"] = settings.log_level(top["log_level"])
    hosts = settings.hosts(top["cert_dir"])
    return Config(
        hosts=hosts,
        limits=settings.section("limits"),
        mirror=settings.mirror(),
        https=settings.https(),
        index=settings.section("index"),
        publication=settings.section("publication"),
        robots=settings.section("robots"),
        redirects=settings.redirects(),
        protect=settings.protect(hosts),
        titan=titan_tables(*settings.raw("titan"), [host.name for host in hosts]),
        **top,
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

    def value(self, setting: Setting) -> Any:
        """The setting's value, converted by its type; its declared default if nobody set it."""
        if setting.key not in self.values and setting.key not in self.defaults:
            return setting.default
        return self.convert(setting.key, setting.kind, setting.declaration.bound)

    def convert(self, key: str, kind: Any, bound: Bound) -> Any:
        if kind is bool:
            return self.flag(key)
        if kind is int or kind is float:
            return self.number(key, kind, bound)
        if kind is str:
            return self.text(key)
        if kind is Path:
            return self.path(key)
        if (inner := without_none(kind)) is not kind:
            return None if self.raw(key)[0] is None else self.convert(key, inner, bound)
        if kind is ListenAddress:
            return self.address(key)
        if typing.get_origin(kind) is tuple and typing.get_args(kind)[0] is ListenAddress:
            return self.addresses(key)
        if typing.get_origin(kind) is tuple and typing.get_args(kind)[0] == _NETWORK:
            return self.networks(key)
        if typing.get_origin(kind) is tuple and typing.get_args(kind)[0] is Fingerprint:
            return self.fingerprints(key)
        if typing.get_origin(kind) is tuple and typing.get_args(kind)[0] is str:
            return self.path_prefixes(key)
        raise TypeError(f"{key}: no conversion from the configuration to {kind}")

    def number(self, key: str, kind: type[int] | type[float], bound: Bound) -> Any:
        value, _ = self.raw(key)
        wrong = isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value)
        if wrong or (kind is int and not isinstance(value, int)):
            raise self.fail(key, value, f"is not {'an integer' if kind is int else 'a number'}")
        if not bound.admits(value):
            raise self.fail(key, value, f"must be {bound.value}")
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

    def path(self, key: str) -> Path:
        value, _ = self.raw(key)
        if not isinstance(value, str | Path) or not str(value):
            raise self.fail(key, value, "is not a path")
        return Path(value).expanduser()

    def directory(self, key: str, path: Path) -> Path:
        if not path.is_dir():
            raise self.fail(key, str(path), "is not a directory")
        return path

    def address(self, key: str) -> ListenAddress:
        """One ADDR:PORT; a bare port is on the loopback address."""
        value, _ = self.raw(key)
        if isinstance(value, ListenAddress):
            return value
        text = str(value)
        try:
            return ListenAddress.parse(text if ":" in text else f"{METRICS_HOST}:{text}", key)
        except ConfigError as error:
            raise self.fail(key, value, str(error).split(": ", 1)[-1]) from None

    def addresses(self, key: str) -> tuple[ListenAddress, ...]:
        value, _ = self.raw(key)
        if isinstance(value, str):
            value = [value]
        # An empty list turns off only what is off by default (https.listen), never Gemini.
        empty_allowed = SETTINGS[key].default == ()
        if not isinstance(value, list | tuple) or not (value or empty_allowed):
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

    def path_prefixes(self, key: str) -> tuple[str, ...]:
        value, _ = self.raw(key)
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise self.fail(key, value, "is not a list of paths")
        for item in value:
            if not item.startswith("/") or _NOT_IN_PATH_PREFIX.search(item):
                raise self.fail(
                    key, item, "is not an absolute path (no spaces, control characters, ? or #)"
                )
        return tuple(value)

    def fingerprints(self, key: str) -> tuple[Fingerprint, ...]:
        value, _ = self.raw(key)
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise self.fail(key, value, "is not a list of certificate fingerprints")
        found = []
        for item in value:
            try:
                found.append(Fingerprint(parse_fingerprint(item)))
            except ValueError as error:
                raise self.fail(key, item, f"is not a fingerprint: {error}") from None
        return tuple(dict.fromkeys(found))

    def section(self, name: str) -> Any:
        declared = (setting for setting in SETTINGS.values() if setting.section == name)
        return SECTIONS[name](**{setting.name: self.value(setting) for setting in declared})

    def mirror(self) -> MirrorSettings | None:
        if "mirror.enabled" in self.values and not self.flag("mirror.enabled"):
            return None
        mirror: MirrorSettings = self.section("mirror")
        if mirror.templates is not None:
            self.directory("mirror.templates", mirror.templates)
        if mirror.base_url is not None:
            if not mirror.base_url.startswith(("http://", "https://")):
                raise self.fail("mirror.base_url", mirror.base_url, "is not an http(s) URL")
            mirror = dataclasses.replace(mirror, base_url=self.ascii_url(mirror.base_url))
        return mirror

    def https(self) -> HttpsSettings:
        https: HttpsSettings = self.section("https")
        if https.listen and "mirror.enabled" in self.values and not self.flag("mirror.enabled"):
            raise self.fail("https.listen", [str(a) for a in https.listen], "needs the mirror")
        if https.acme_email is not None:
            if not https.listen:
                raise self.fail("https.acme_email", https.acme_email, "needs https.listen")
            if "@" not in https.acme_email:
                raise self.fail("https.acme_email", https.acme_email, "is not an email address")
        if not https.acme_directory.startswith("https://"):
            raise self.fail("https.acme_directory", https.acme_directory, "is not an https URL")
        return https

    def ascii_url(self, url: str) -> str:
        """The base URL with an international host name in its `xn--` form, as links need it."""
        try:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port
        except ValueError as error:
            raise self.fail("mirror.base_url", url, f"is not a URL ({error})") from None
        if host.isascii():
            return url
        try:
            netloc = ascii_host(host) + ("" if port is None else f":{port}")
        except HostNameError as error:
            raise self.fail("mirror.base_url", url, f"has a bad host name ({error})") from None
        return parts._replace(netloc=netloc).geturl()

    def hosts(self, cert_dir: Path | None) -> tuple[HostConfig, ...]:
        value, origin = self.raw("hosts")
        if not isinstance(value, list) or not value:
            raise self.fail("hosts", value, "must list at least one host")
        hosts = tuple(self._host(item, index, origin, cert_dir) for index, item in enumerate(value))
        names = [host.name for host in hosts]
        if len(set(names)) != len(names):
            raise self.fail("hosts", names, "names a host twice")
        return hosts

    def _host(self, item: object, index: int, origin: str, cert_dir: Path | None) -> HostConfig:
        key = f"hosts[{index}]"
        if isinstance(item, HostConfig):
            host = dataclasses.replace(item, name=_host_name(item.name, key, origin))
        else:
            table = _table(item, key, origin)
            for field_name in table:
                if field_name not in HOST_KEYS:
                    raise ConfigError(f"{origin}: unknown key {key}.{field_name}")
            name = table.get("name")
            if not isinstance(name, str):
                raise ConfigError(f"{key}.name ({origin}): {name!r} is not a host name")
            paths = {}
            for field in ("root", "cert", "key"):
                if field in table:
                    if not isinstance(table[field], str) or not table[field]:
                        raise ConfigError(
                            f"{key}.{field} ({origin}): {table[field]!r} is not a path"
                        )
                    paths[field] = Path(table[field]).expanduser()
            host = HostConfig(_host_name(name, f"{key}.name", origin), **paths)
        if host.root is not None and not host.root.is_dir():
            raise ConfigError(f"{key}.root ({origin}): {str(host.root)!r} is not a directory")
        if (host.cert is None) != (host.key is None):
            raise ConfigError(f"{key} ({origin}): cert and key must be given together")
        if host.cert is None and cert_dir is not None:
            files = operator_files(cert_dir, host.name)
            if files.directory.is_dir():
                host = dataclasses.replace(host, cert=files.cert, key=files.key)
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

    def protect(self, hosts: tuple[HostConfig, ...]) -> tuple[ProtectedPaths, ...]:
        value, origin = self.raw("protect")
        if value is None:
            return ()
        if not isinstance(value, list):
            raise ConfigError(f"protect ({origin}): must be an array of tables [[protect]]")
        names = [host.name for host in hosts]
        return tuple(
            _protected_paths(_table(item, f"protect[{index}]", origin), index, origin, names)
            for index, item in enumerate(value)
        )

    def log_level(self, level: str) -> str:
        level = level.upper()
        if level not in LOG_LEVELS:
            raise self.fail(
                "logging.level", level, f"is not one of {', '.join(sorted(LOG_LEVELS))}"
            )
        return level


def _protected_paths(
    table: dict[str, Any], index: int, origin: str, hosts: list[str]
) -> ProtectedPaths:
    """One `[[protect]]` table, every problem named by its key."""
    key = f"protect[{index}]"
    check_keys(table, PROTECT_KEYS, key, origin)
    patterns = table_paths(table, key, origin, "/members/")
    identities = table.get("identities")
    if not isinstance(identities, str | list) or not all(
        isinstance(item, str) for item in identities
    ):
        raise ConfigError(
            f"{key}.identities ({origin}): {identities!r} is not \"any\" or a list of "
            "certificate fingerprints"
        )
    try:
        protection = parse_protection(identities)
    except ValueError as error:
        raise ConfigError(f"{key}.identities ({origin}): {error}") from None
    host = table_host(table, key, origin, hosts)
    return ProtectedPaths(tuple(ProtectRule(pattern, protection) for pattern in patterns), host)


_NETWORK = ipaddress.IPv4Network | ipaddress.IPv6Network
_NOT_IN_PATH_PREFIX = re.compile(r"[\s\x00-\x1f\x7f?#]")


def _host_name(name: str, key: str, origin: str) -> str:
    """A host's name as it is kept (IDNA `xn--` form), or an error naming its key."""
    try:
        return ascii_host(name)
    except HostNameError as error:
        raise ConfigError(f"{key} ({origin}): {name!r} is not a host name ({error})") from None
