"""What both wings serve, built from a Config: capsules with their catalogs, host certificates."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

from capsule.catalog.store import Catalog, CatalogError
from capsule.publication.generated import Publication
from capsule.publication.robots import generated_robots
from capsule.root import Capsule
from capsule.rules.access import ProtectRules
from capsule.rules.meta import MetaIndex
from capsule.rules.policy import AccessPolicy
from certs import CertificateError, Identity, ensure_identity, load_identity
from server.accesslog import ERROR_LOGGER
from server.settings.config import Config, ConfigError, HostConfig

logger = logging.getLogger(ERROR_LOGGER)


class StateDirectoryError(Exception):
    """The state directory cannot hold what capsule must write there."""


def identity_for(host: HostConfig, config: Config) -> Identity:
    """The operator's certificate for a host if configured, else its self-signed one."""
    if host.cert is not None and host.key is not None:
        try:
            return load_identity(host.name, host.cert, host.key)
        except CertificateError as error:
            raise CertificateError(
                f"certificate of host {host.name!r} (hosts.cert and hosts.key, or cert_dir): "
                f"{error}"
            ) from None
    try:
        return ensure_identity(host.name, config.state_dir)
    except OSError as error:
        raise StateDirectoryError(
            f"state directory {config.state_dir}: {error.strerror or error}: capsule needs to "
            f"write the self-signed certificate of {host.name} under certs/ there (or give the "
            "host a certificate of its own with cert_dir or hosts.cert)"
        ) from None


def build_capsules(
    config: Config, catalogs: dict[Path, Catalog] | None = None, index_writer: bool = True
) -> dict[str, Capsule]:
    """One capsule per content root, keyed by every host name serving it.

    `catalogs` carries the catalogs of an earlier build (by root) so a reload reuses them;
    `index_writer` is False in workers that follow another worker's index.
    """
    catalogs = catalogs if catalogs is not None else {}
    by_root: dict[Path, Capsule] = {}
    capsules: dict[str, Capsule] = {}
    for host in config.hosts:
        root = config.root_for(host)
        try:
            real_root = root.resolve(strict=True)
        except OSError as error:
            raise ConfigError(f"root of host {host.name!r}: {root}: {error.strerror}") from None
        if real_root not in by_root:
            by_root[real_root] = _capsule(real_root, config, catalogs, index_writer)
        capsules[host.name.lower()] = by_root[real_root]
    return capsules


def _capsule(
    root: Path, config: Config, catalogs: dict[Path, Catalog], index_writer: bool
) -> Capsule:
    catalog = _catalog(root, config, catalogs, index_writer) if config.index.enabled else None
    access = AccessPolicy(
        MetaIndex(root),
        protect_rules(config, root),
        staff=config.publication.staff_protection,
        redirects=config.redirects,
    )
    publication = (
        Publication(catalog, config.publication, config.lang, access) if catalog else None
    )
    return Capsule(
        root,
        config.lang,
        publication,
        max_page_bytes=config.limits.max_page_bytes,
        robots=generated_robots(config.robots, searchable=publication is not None),
        access=access,
    )


def protect_rules(config: Config, root: Path) -> ProtectRules:
    """The configured protect rules of the capsule at `root` (resolved): those naming no host,
    and those naming a host served from this root, whichever of its names a request uses."""
    roots = {host.name: config.root_for(host).resolve() for host in config.hosts}
    return ProtectRules(
        tuple(
            rule
            for protected in config.protect
            if protected.host is None or roots[protected.host] == root
            for rule in protected.rules
        )
    )


def _catalog(
    root: Path, config: Config, catalogs: dict[Path, Catalog], index_writer: bool
) -> Catalog | None:
    """The root's catalog, kept across reloads; None (and a warning) if it cannot be written."""
    if root not in catalogs:
        name = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        database = config.state_dir / "index" / f"{name}.sqlite3"
        try:
            catalogs[root] = Catalog(root, database, index_writer)
        except CatalogError as error:
            logger.warning("%s; %s is served without search, the archive and feeds", error, root)
            return None
    return catalogs[root]


def catalogs_of(capsules: Mapping[str, Capsule]) -> list[Catalog]:
    """The distinct catalogs behind a set of capsules."""
    found: dict[int, Catalog] = {}
    for capsule in capsules.values():
        if capsule.publication is not None:
            found.setdefault(id(capsule.publication.catalog), capsule.publication.catalog)
    return list(found.values())
