"""What the Gemini server answers for, built from a Config: capsules by host name and TLS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from OpenSSL import SSL

from capsule.root import Capsule
from certs import HostContexts, Identity
from server.assemble import build_capsules, identity_for
from server.config import Config


@dataclass(frozen=True, slots=True)
class Site:
    """What the server answers for: capsules and certificates by host name.

    `session_context` is the deployment's (see `certs.context`): the same across reloads.
    """

    capsules: Mapping[str, Capsule]
    session_context: SSL.Context
    hosts: HostContexts
    ports: frozenset[int]

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
    return Site(capsules, session_context, hosts, ports)
