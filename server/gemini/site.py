"""What the Gemini server answers for, built from a Config: capsules by host name and TLS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from OpenSSL import SSL

from capsule.authoring.writes import RootWriter
from capsule.root import Capsule
from capsule.rules.upload_policy import UploadPolicy
from certs import HostContexts, Identity
from server.assemble import build_capsules, identity_for
from server.settings.config import Config
from server.settings.titan import upload_policy


@dataclass(frozen=True, slots=True)
class UploadSite:
    """Where one root accepts Titan uploads, and the writer of that root."""

    policy: UploadPolicy
    writer: RootWriter


@dataclass(frozen=True, slots=True)
class Site:
    """What the server answers for: capsules and certificates by host name.

    `session_context` is the deployment's (see `certs.context`): the same across reloads.
    """

    capsules: Mapping[str, Capsule]
    session_context: SSL.Context
    hosts: HostContexts
    ports: frozenset[int]
    uploads: Mapping[str, UploadSite] = field(default_factory=dict)
    """By host name, the roots that accept uploads (those with `[[titan]]` rules)."""

    @property
    def host_names(self) -> frozenset[str]:
        """Every name a request URL may carry."""
        return frozenset(self.capsules)


def build_site(
    config: Config,
    ports: frozenset[int],
    session_context: SSL.Context,
    capsules: Mapping[str, Capsule] | None = None,
) -> Site:
    """Certificates for every configured host, and its capsule under each name it carries."""
    capsules = dict(capsules if capsules is not None else build_capsules(config))
    identities: dict[str, Identity] = {}
    for host in config.hosts:
        identity = identity_for(host, config)
        identities[host.name] = identity
        for name in identity.names:
            capsules.setdefault(name.lower(), capsules[host.name.lower()])
    hosts = HostContexts(identities, config.hosts[0].name)
    return Site(capsules, session_context, hosts, ports, upload_sites(config, capsules))


def upload_sites(config: Config, capsules: Mapping[str, Capsule]) -> dict[str, UploadSite]:
    """One UploadSite per root with upload rules, under every host name serving it."""
    by_root: dict[Path, UploadSite | None] = {}
    uploads = {}
    for name, capsule in capsules.items():
        if capsule.root not in by_root:
            policy = upload_policy(config, capsule.root)
            by_root[capsule.root] = UploadSite(policy, RootWriter(capsule.root)) if policy else None
        found = by_root[capsule.root]
        if found is not None:
            uploads[name] = found
    return uploads
