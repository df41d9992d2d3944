"""What the mirror answers for, built from a Config: the mirror and the host names it serves."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from capsule.root import Capsule
from server.assemble import build_capsules
from server.mirror.pages import PageRenderer
from server.mirror.request import HostNames
from server.mirror.responses import Mirror
from server.settings.config import Config, MirrorSettings


def build_mirror(
    config: Config, capsules: Mapping[str, Capsule] | None = None
) -> tuple[Mirror, HostNames]:
    """The mirror and the Host names it answers, from the config alone (no certificates)."""
    settings = config.mirror or MirrorSettings()
    capsules = capsules if capsules is not None else build_capsules(config)
    gemini_port = config.listen[0].port if config.listen else None
    renderer = PageRenderer(
        settings.templates,
        settings.inline_images,
        settings.base_url,
        settings.page_cache_bytes,
        publication=any(capsule.publication is not None for capsule in capsules.values()),
    )
    base_host = urlsplit(settings.base_url).hostname if settings.base_url else None
    extra = [base_host] if base_host else []
    names = HostNames.build(capsules, config.hosts[0].name.lower(), extra)
    return Mirror(capsules, renderer, gemini_port, config.index.watch), names
