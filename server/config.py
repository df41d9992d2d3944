"""The one frozen configuration object the server runs from, and its defaults."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from capsule.publication import PublicationSettings
from capsule.redirects import RedirectRule

DEFAULT_GEMINI_PORT = 1965
DEFAULT_HOST = "localhost"


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the key."""


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """An address and port to accept connections on."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, key: str = "listen") -> ListenAddress:
        """Parse 'HOST:PORT', '[V6]:PORT' or ':PORT' (all interfaces)."""
        host, sep, port_text = text.rpartition(":")
        if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ConfigError(f"{key}: {text!r} is not ADDRESS:PORT with a port from 0 to 65535")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if host:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                if not host.replace("-", "").replace(".", "").isalnum():
                    reason = "is not an IP address or host name"
                    raise ConfigError(f"{key}: {host!r} {reason}") from None
        return cls(host or "", int(port_text))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class HostConfig:
    """One host name we answer for, with its content root and optional certificate files."""

    name: str
    root: Path | None = None
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on everything a client controls."""

    request_timeout: float = 5.0
    """Seconds for a client to finish the TLS handshake and send its request line."""
    exchange_timeout: float = 300.0
    """Seconds for a whole exchange, response included; slow readers are cut off."""
    max_connections: int = 1024
    """Connections served at once; more are closed immediately."""
    max_connections_per_ip: int = 32
    """Connections one client address may hold at once."""
    requests_per_second: float = 20.0
    """Sustained request rate per client address; beyond it clients get 44. 0 disables."""
    request_burst: int = 60
    """Requests a client address may make in a burst before the rate applies."""
    drain_timeout: float = 10.0
    """Seconds in-flight requests get to finish after SIGTERM."""
    chunk_size: int = 64 * 1024
    """Bytes read from disk and sent per write when streaming a file."""
    send_timeout: float = 30.0
    """Seconds a client may take no bytes of a response; one still reading slowly is kept."""
    max_page_bytes: int = 1024 * 1024
    """Gemtext pages larger than this are streamed as they are, never parsed into memory."""


DEFAULT_MIRROR_PORT = 8080


@dataclass(frozen=True, slots=True)
class MirrorConfig:
    """The HTTP mirror: where it listens, how it renders, and its HTTP-only limits."""

    listen: tuple[ListenAddress, ...] = (ListenAddress("127.0.0.1", DEFAULT_MIRROR_PORT),)
    base_url: str | None = None
    """Public URL of the mirror (https://example.org/), for absolute links; its host is ours."""
    templates: Path | None = None
    """Operator templates, looked up before the packaged ones."""
    inline_images: bool = False
    """Show links to images as the images themselves."""
    max_header_bytes: int = 16 * 1024
    """Bytes a request line plus headers may take; more is answered 431."""
    max_body_bytes: int = 64 * 1024
    """Bytes of body a GET or HEAD may carry (read and discarded); more is answered 413."""
    keepalive_timeout: float = 15.0
    """Seconds an idle keep-alive connection waits for its next request."""
    max_requests_per_connection: int = 1000
    """Requests one keep-alive connection may carry; the last answer closes it."""
    page_cache_bytes: int = 32 * 1024 * 1024
    """Bytes of rendered pages kept in memory, keyed by their gemtext and place; 0 disables."""


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """The catalog of articles and search: whether to keep one, and how often to refresh it."""

    enabled: bool = True
    quick_interval: float = 2.0
    """Seconds between quick refreshes, which see new, deleted and renamed pages."""
    full_interval: float = 60.0
    """Seconds between full refreshes, which also see pages edited in place."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the server needs, resolved once from the command line."""

    hosts: tuple[HostConfig, ...]
    listen: tuple[ListenAddress, ...]
    state_dir: Path
    default_root: Path
    lang: str | None = None
    limits: Limits = field(default_factory=Limits)
    mirror: MirrorConfig | None = None
    """The HTTP mirror; None serves Gemini only."""
    index: IndexSettings = field(default_factory=IndexSettings)
    publication: PublicationSettings = field(default_factory=PublicationSettings)
    redirects: tuple[RedirectRule, ...] = ()
    workers: int = 1
    """Processes sharing the listening ports (SO_REUSEPORT)."""
    proxy_protocol: bool = False
    """Every Gemini connection starts with a PROXY protocol header from a load balancer."""
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    """Peers allowed to send PROXY headers; empty trusts any peer that reaches the port."""
    log_level: str = "INFO"

    def root_for(self, host: HostConfig) -> Path:
        """The content root of a host: its own, or the default one."""
        return host.root or self.default_root
