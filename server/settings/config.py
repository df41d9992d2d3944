"""The frozen configuration the server runs from; each setting is declared on its field."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from capsule.publication.generated import PublicationSettings
from capsule.publication.robots import RobotsSettings
from capsule.rules.access import ProtectRule
from capsule.rules.redirects import RedirectRule
from capsule.rules.upload_policy import UploadRule
from capsule.setting import POSITIVE, declare, setting

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


METRICS_HOST = "127.0.0.1"
"""Where the metrics listener binds when only its port is given."""

LOOPBACK_DEFAULTS = (
    ListenAddress("127.0.0.1", DEFAULT_GEMINI_PORT),
    ListenAddress("::1", DEFAULT_GEMINI_PORT),
)
"""Where Gemini is served when no address is given: IPv4 and IPv6 loopback."""


@dataclass(frozen=True, slots=True)
class HostConfig:
    """One host name we answer for, with its content root and optional certificate files."""

    name: str
    root: Path | None = None
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True, slots=True)
class ProtectedPaths:
    """One `[[protect]]` table: paths that only some client certificates may see, under the
    root of `host` (and so under every host name sharing it), or under every root."""

    rules: tuple[ProtectRule, ...]
    """One rule per path pattern, relative to the root."""
    host: str | None = None


@dataclass(frozen=True, slots=True)
class TitanPaths:
    """One `[[titan]]` table: paths open to Titan uploads from listed identities, under the
    root of `host` (and so under every host name sharing it), or under every root."""

    rule: UploadRule
    host: str | None = None


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """Bounds on everything a client controls."""

    request_timeout: float = setting(
        5.0,
        bound=POSITIVE,
        flag="--request-timeout",
        metavar="SECONDS",
        help="seconds for a client to finish the TLS handshake and send its request line",
    )
    exchange_timeout: float = setting(
        300.0,
        bound=POSITIVE,
        flag="--exchange-timeout",
        metavar="SECONDS",
        help="seconds for a whole exchange, response included; slow readers are cut off",
    )
    max_connections: int = setting(
        1024,
        bound=POSITIVE,
        flag="--max-connections",
        metavar="N",
        help="connections served at once; more are closed immediately",
    )
    max_connections_per_ip: int = setting(
        32,
        bound=POSITIVE,
        flag="--max-connections-per-ip",
        metavar="N",
        help="connections one client address may hold at once",
    )
    requests_per_second: float = setting(
        20.0,
        flag="--requests-per-second",
        metavar="NUMBER",
        help="sustained request rate per client address, beyond which it gets 44; 0 for no limit",
    )
    request_burst: int = setting(
        60,
        bound=POSITIVE,
        flag="--request-burst",
        metavar="N",
        help="requests a client address may make in a burst before the rate applies",
    )
    drain_timeout: float = setting(
        10.0,
        flag="--drain-timeout",
        metavar="SECONDS",
        help="seconds in-flight requests get to finish after SIGTERM",
    )
    chunk_size: int = setting(
        64 * 1024,
        bound=POSITIVE,
        help="bytes read from disk and sent per write when streaming a file",
    )
    send_timeout: float = setting(
        30.0,
        bound=POSITIVE,
        flag="--send-timeout",
        metavar="SECONDS",
        help="seconds a client may take no bytes of a response; one still reading slowly is kept",
    )
    max_page_bytes: int = setting(
        1024 * 1024,
        bound=POSITIVE,
        flag="--max-page-bytes",
        metavar="N",
        help="gemtext pages larger than this are sent as they are, never parsed into memory; "
        "{{recent}} markers are filled in while the page stays within it",
    )
    upload_timeout: float = setting(
        60.0,
        bound=POSITIVE,
        flag="--upload-timeout",
        metavar="SECONDS",
        help="seconds for the body of a Titan upload to arrive after its request line",
    )
    long_work_threads: int = setting(
        2,
        bound=POSITIVE,
        help="requests per protocol whose answer takes work that grows with the capsule "
        "(listings, archive, feeds, search, sitemaps) made at once, each in a thread; more wait",
    )
    memory_release_interval: float = setting(
        10.0,
        help="seconds between handing the memory traffic left behind back to the system; 0 never",
    )


DEFAULT_MIRROR_PORT = 8080


@dataclass(frozen=True, slots=True)
class MirrorSettings:
    """The HTTP mirror: where it listens, how it renders, and its HTTP-only limits."""

    listen: tuple[ListenAddress, ...] = setting(
        (ListenAddress("127.0.0.1", DEFAULT_MIRROR_PORT),),
        flag="--http",
        metavar="ADDR:PORT",
        help="an address for the HTTP mirror to listen on, repeatable",
    )
    base_url: str | None = setting(
        None,
        flag="--base-url",
        metavar="URL",
        help="public URL of the mirror, e.g. https://example.org/, for absolute links; its host "
        "name is answered too",
    )
    templates: Path | None = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        None,
        flag="--templates",
        metavar="DIR",
        help="operator templates, looked up before the packaged ones",
    )
    inline_images: bool = setting(
        True,
        flag="--no-inline-images",
        help="keep links to images on article pages as links, not figures (image and caption)",
    )
    max_header_bytes: int = setting(
        16 * 1024,
        bound=POSITIVE,
        help="bytes a request line plus headers may take; more is answered 431",
    )
    max_body_bytes: int = setting(
        64 * 1024,
        help="bytes of body a GET or HEAD may carry (read and discarded); more is answered 413",
    )
    keepalive_timeout: float = setting(
        15.0,
        bound=POSITIVE,
        help="seconds an idle keep-alive connection waits for its next request (up to a tenth "
        "more, at most a second: the deadline moves only when it must)",
    )
    max_requests_per_connection: int = setting(
        1000,
        bound=POSITIVE,
        help="requests one keep-alive connection may carry; the last answer closes it",
    )
    page_cache_bytes: int = setting(
        32 * 1024 * 1024,
        help="bytes of rendered pages kept in memory, keyed by their gemtext and place; 0 disables",
    )
    proxy_protocol: bool = setting(
        False,
        flag="--http-proxy-protocol",
        help="expect a PROXY protocol header on every mirror connection (behind a TCP front)",
    )


LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True, slots=True)
class HttpsSettings:
    """The mirror over HTTPS of its own: where, with which certificates, and HSTS."""

    listen: tuple[ListenAddress, ...] = setting(
        (),
        flag="--https",
        metavar="ADDR:PORT",
        help="an address to serve the mirror on over HTTPS, repeatable; the HTTP listeners then "
        "redirect to it",
    )
    hsts_max_age: int = setting(
        0,
        flag="--hsts-max-age",
        metavar="SECONDS",
        help="send Strict-Transport-Security with this max-age over HTTPS; 0 sends none",
    )
    acme_email: str | None = setting(
        None,
        flag="--acme-email",
        metavar="EMAIL",
        help="obtain and renew the HTTPS certificates of hosts without operator certificates "
        "over ACME, with this contact address",
    )
    acme_directory: str = setting(
        LETS_ENCRYPT,
        flag="--acme-directory",
        metavar="URL",
        help="the ACME server's directory URL",
    )
    acme_ca_bundle: Path | None = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        None,
        flag="--acme-ca-bundle",
        metavar="FILE",
        shown_default="the system's",
        help="CA certificates to trust for the ACME server's own HTTPS, e.g. a test server's",
    )
    acme_timeout: float = setting(
        90.0,
        bound=POSITIVE,
        help="seconds for the ACME server to validate a host and issue its certificate",
    )
    acme_retry_interval: float = setting(
        600.0,
        bound=POSITIVE,
        help="seconds before a failed ACME order is tried again",
    )


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """The catalog of articles and search: whether to keep one, and how often to refresh it."""

    enabled: bool = setting(
        True,
        flag="--no-index",
        help="keep no catalog: no archive, feeds, search or recent lists",
    )
    quick_interval: float = setting(
        2.0,
        bound=POSITIVE,
        flag="--index-interval",
        metavar="SECONDS",
        help="seconds between quick refreshes, which see new, deleted and renamed pages",
    )
    full_interval: float = setting(
        60.0,
        bound=POSITIVE,
        flag="--full-index-interval",
        metavar="SECONDS",
        help="seconds between full refreshes, which also see pages edited in place, when the "
        "disk is polled",
    )
    watch: bool = setting(
        True,
        flag="--no-index-watch",
        help="poll the disk instead of being told of changes by the kernel (inotify)",
    )
    rescan_interval: float = setting(
        3600.0,
        bound=POSITIVE,
        flag="--rescan-interval",
        metavar="SECONDS",
        help="seconds between full refreshes while the kernel reports changes: a safety net",
    )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the server needs, resolved once from the command line.

    The fields declared as settings are the top-level keys of the configuration file; the
    command line computes the defaults of those without one (they depend on the machine).
    """

    hosts: tuple[HostConfig, ...] = field(
        metadata=declare(
            flag="--host",
            metavar="NAME[=ROOT]",
            shown_default=DEFAULT_HOST,
            help="a host name to answer for, repeatable; =ROOT gives it its own directory",
        )
    )
    listen: tuple[ListenAddress, ...] = field(
        metadata=declare(
            flag="--listen",
            metavar="ADDR:PORT",
            shown_default=f"127.0.0.1:{DEFAULT_GEMINI_PORT}, [::1]:{DEFAULT_GEMINI_PORT}",
            help="an address to accept Gemini connections on, repeatable",
        )
    )
    state_dir: Path = field(
        metadata=declare(
            flag="--state-dir",
            metavar="DIR",
            shown_default="$STATE_DIRECTORY, else ~/.local/state/capsule",
            help="where self-signed certificates and search indexes are kept",
        )
    )
    default_root: Path = field(
        metadata=declare(
            key="root",
            flag="--root",
            metavar="DIR",
            shown_default="the demo capsule",
            help="the capsule directory of hosts without their own",
        )
    )
    cert_dir: Path | None = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        None,
        flag="--cert-dir",
        metavar="DIR",
        help="operator certificates as DIR/HOST/cert.pem and key.pem; hosts without them get "
        "a self-signed one",
    )
    lang: str | None = setting(
        None, flag="--lang", metavar="TAG", help="language of the gemtext pages, e.g. en"
    )
    limits: LimitSettings = field(default_factory=LimitSettings)
    mirror: MirrorSettings | None = None
    """The HTTP mirror; None serves Gemini only."""
    https: HttpsSettings = field(default_factory=HttpsSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    publication: PublicationSettings = field(default_factory=PublicationSettings)
    robots: RobotsSettings = field(default_factory=RobotsSettings)
    redirects: tuple[RedirectRule, ...] = ()
    protect: tuple[ProtectedPaths, ...] = ()
    titan: tuple[TitanPaths, ...] = ()
    workers: int = setting(
        1,
        bound=POSITIVE,
        flag="--workers",
        metavar="N",
        help="processes sharing the listening ports",
    )
    metrics: ListenAddress | None = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        None,
        flag="--metrics",
        metavar="ADDR:PORT",
        shown_default="off",
        help="serve Prometheus metrics at http://ADDR:PORT/metrics; a bare PORT listens on "
        "127.0.0.1",
    )
    proxy_protocol: bool = setting(
        False,
        flag="--proxy-protocol",
        help="expect a PROXY protocol header on every Gemini connection (behind a load balancer)",
    )
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = setting(
        (),
        flag="--trusted-proxy",
        metavar="NET",
        shown_default="none",
        help="a front (address or network) allowed to speak for its readers, repeatable: to send "
        "PROXY headers (any peer may when none is listed) and the mirror's Forwarded and "
        "X-Forwarded-* headers (no peer may when none is listed)",
    )
    log_level: str = setting(
        "INFO",
        key="logging.level",
        flag="--log-level",
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}",
    )
    access_log: Path | None = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        None,
        key="logging.access_log",
        flag="--access-log",
        metavar="FILE",
        shown_default="standard output",
        help="the file access-log lines are appended to; reopened on SIGUSR1 and SIGHUP, so "
        "it can be rotated",
    )
    access_log_flush: float = setting(
        1.0,
        bound=POSITIVE,
        key="logging.access_flush_interval",
        flag="--access-log-flush",
        metavar="SECONDS",
        help="access-log lines are written out in batches, at most this many seconds late",
    )

    def root_for(self, host: HostConfig) -> Path:
        """The content root of a host: its own, or the default one."""
        return host.root or self.default_root
