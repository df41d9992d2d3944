"""`[[titan]]` tables -> validated upload rules, every problem named by its key; and the rules
of one root."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

from capsule.rules.access import ANY_CERTIFICATE_WORD, parse_protection
from capsule.rules.upload_policy import UploadPolicy, UploadRule
from capsule.setting import declaration_of
from server.settings.config import Config, ConfigError, TitanPaths
from server.settings.path_tables import check_keys, table_host, table_paths

DEDICATED_TITAN_KEYS = ("host", "paths", "identities")
"""Keys of a `[[titan]]` table read here; the others are declared on UploadRule's fields."""
DECLARED_TITAN_KEYS = tuple(
    field.name for field in dataclasses.fields(UploadRule) if declaration_of(field) is not None
)
TITAN_KEYS = frozenset(DEDICATED_TITAN_KEYS + DECLARED_TITAN_KEYS)


def titan_tables(value: object, origin: str, hosts: list[str]) -> tuple[TitanPaths, ...]:
    """Every `[[titan]]` table of the configuration (`value`, read from `origin`)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"titan ({origin}): must be an array of tables [[titan]]")
    tables = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ConfigError(f"{origin}: titan[{index}]: must be a table")
        tables.append(_titan_table(item, f"titan[{index}]", origin, hosts))
    return tuple(tables)


def upload_policy(config: Config, root: Path) -> UploadPolicy:
    """The upload rules of the capsule at `root` (resolved): those naming no host, and those
    naming a host served from this root, whichever of its names a request uses."""
    roots = {host.name: config.root_for(host).resolve() for host in config.hosts}
    return UploadPolicy(
        tuple(
            table.rule
            for table in config.titan
            if table.host is None or roots[table.host] == root
        )
    )


def _titan_table(table: dict[str, Any], key: str, origin: str, hosts: list[str]) -> TitanPaths:
    check_keys(table, TITAN_KEYS, key, origin)
    patterns = table_paths(table, key, origin, "/notes/")
    identities = _identities(table.get("identities"), key, origin)
    rule = UploadRule(tuple(patterns), identities, **_declared(table, key, origin))
    return TitanPaths(rule, table_host(table, key, origin, hosts))


def _identities(value: object, key: str, origin: str) -> frozenset[str]:
    """The fingerprints allowed to upload. "any" is refused: anyone can make a certificate in
    a second, so it would open the root to anonymous writes."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"{key}.identities ({origin}): {value!r} is not a list of certificate fingerprints"
        )
    if not value:
        raise ConfigError(f"{key}.identities ({origin}): lists no fingerprints")
    if ANY_CERTIFICATE_WORD in (item.strip() for item in value):
        raise ConfigError(
            f"{key}.identities ({origin}): {ANY_CERTIFICATE_WORD!r} is not accepted for uploads: "
            "anyone can make a client certificate, so list the fingerprints of those who may write"
        )
    try:
        protection = parse_protection(value)
    except ValueError as error:
        raise ConfigError(f"{key}.identities ({origin}): {error}") from None
    assert protection.fingerprints is not None
    return protection.fingerprints


def _declared(table: dict[str, Any], key: str, origin: str) -> dict[str, Any]:
    """The settings declared on UploadRule's fields that the table gives, checked by type and
    bound as every other setting is."""
    kinds = typing.get_type_hints(UploadRule)
    values = {}
    for field in dataclasses.fields(UploadRule):
        declaration = declaration_of(field)
        if declaration is None or field.name not in table:
            continue
        value, kind = table[field.name], kinds[field.name]
        where = f"{key}.{field.name} ({origin}): {value!r}"
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"{where} is not true or false")
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{where} is not an integer")
            if not declaration.bound.admits(value):
                raise ConfigError(f"{where} must be {declaration.bound.value}")
        values[field.name] = value
    return values
