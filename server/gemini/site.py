"""What the Gemini server answers for, built from a Config: capsules by host name and TLS."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from capsule.root import Capsule
from certs import Identity, server_context
from server.assemble import build_capsules, identity_for
from server.config import Config


@dataclass(frozen=True, slots=True)
class Site:
    """What the server answers for: capsules by host name and the TLS context."""

    capsules: Mapping[str, Capsule]
    ssl_context: ssl.SSLContext
    ports: frozenset[int]

    @property
    def host_names(self) -> frozenset[str]:
        """Every name a request URL may carry."""
        return frozenset(self.capsules)



def build_site(
    config: Config, ports: frozenset[int], capsules: Mapping[str, Capsule] | None = None
) -> Site:
    """Certificates for every configured host, and its capsule under each name it carries."""
    capsules = dict(capsules if capsules is not None else build_capsules(config))
    identities: dict[str, Identity] = {}
    for host in config.hosts:
        identity = identity_for(host, config)
        identities[host.name] = identity
        for name in identity.names:
            capsules.setdefault(name.lower(), capsules[host.name.lower()])
    context = server_context(identities, config.hosts[0].name)
    return Site(capsules, context, ports)
