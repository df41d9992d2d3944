"""The one frozen configuration object the server runs from, and its defaults."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the server needs, resolved once from the command line."""

    hosts: tuple[HostConfig, ...]
    listen: tuple[ListenAddress, ...]
    state_dir: Path
    default_root: Path
    lang: str | None = None
    limits: Limits = field(default_factory=Limits)

    def root_for(self, host: HostConfig) -> Path:
        """The content root of a host: its own, or the default one."""
        return host.root or self.default_root
