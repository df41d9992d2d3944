"""The `capsule` command line: serve a capsule, print certificate fingerprints."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

import trio

from capsule.publication import PublicationSettings
from certs import (
    CertificateError,
    certificate_fingerprint,
    public_key_fingerprint,
    read_certificate,
)
from server.accesslog import configure_logging
from server.config import (
    Config,
    ConfigError,
    HostConfig,
    IndexSettings,
    Limits,
    ListenAddress,
    MirrorConfig,
)
from server.export import export
from server.run import LOOPBACK_DEFAULTS, identity_for, serve


def demo_root() -> Path:
    """The capsule shipped inside the package, served when no root is given."""
    return Path(str(files("capsule").joinpath("demo")))


def default_state_dir() -> Path:
    """Where certificates live: systemd's StateDirectory, else the XDG state home."""
    if systemd_state := os.environ.get("STATE_DIRECTORY"):
        return Path(systemd_state.split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "capsule"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="capsule", description="A Gemini capsule server with an HTTP mirror."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve_cmd = commands.add_parser("serve", help="serve a capsule over Gemini")
    _add_site_options(serve_cmd)
    serve_cmd.add_argument(
        "--listen", action="append", metavar="ADDR:PORT",
        help="address to listen on, repeatable (default 127.0.0.1:1965 and [::1]:1965)",
    )
    serve_cmd.add_argument("--lang", help="language of the gemtext pages, e.g. en")
    mirror = _add_mirror_options(serve_cmd)
    mirror.add_argument(
        "--http", action="append", metavar="ADDR:PORT",
        help="address the HTTP mirror listens on, repeatable (default 127.0.0.1:8080)",
    )
    mirror.add_argument("--no-http", action="store_true", help="serve Gemini only, no mirror")
    _add_publication_options(serve_cmd)
    limits = serve_cmd.add_argument_group("limits")
    defaults = Limits()
    limits.add_argument("--request-timeout", type=float, default=defaults.request_timeout,
                        help="seconds to complete TLS and send the request (%(default)s)")
    limits.add_argument("--exchange-timeout", type=float, default=defaults.exchange_timeout,
                        help="seconds for a whole exchange (%(default)s)")
    limits.add_argument("--max-connections", type=int, default=defaults.max_connections,
                        help="connections served at once (%(default)s)")
    limits.add_argument("--max-connections-per-ip", type=int,
                        default=defaults.max_connections_per_ip,
                        help="connections one client address may hold (%(default)s)")
    limits.add_argument("--requests-per-second", type=float,
                        default=defaults.requests_per_second,
                        help="sustained requests per client address, 0 for no limit "
                        "(%(default)s)")
    limits.add_argument("--request-burst", type=int, default=defaults.request_burst,
                        help="requests per client address in a burst (%(default)s)")
    limits.add_argument("--drain-timeout", type=float, default=defaults.drain_timeout,
                        help="seconds in-flight requests get after SIGTERM (%(default)s)")

    cert_cmd = commands.add_parser("cert", help="print each host's certificate fingerprints")
    _add_site_options(cert_cmd)

    build_cmd = commands.add_parser(
        "build", help="write the HTTP mirror of the first host as static files"
    )
    build_cmd.add_argument("outdir", type=Path, metavar="OUTDIR", help="where to write the files")
    _add_site_options(build_cmd)
    build_cmd.add_argument("--lang", help="language of the gemtext pages, e.g. en")
    _add_mirror_options(build_cmd)
    return parser


def _add_publication_options(command: argparse.ArgumentParser) -> None:
    articles = command.add_argument_group("articles, feeds and search")
    index, publication = IndexSettings(), PublicationSettings()
    articles.add_argument("--no-index", action="store_true",
                          help="keep no catalog: no archive, feeds, search or recent lists")
    articles.add_argument("--index-interval", type=float, default=index.quick_interval,
                          help="seconds between checks for new and deleted pages (%(default)s)")
    articles.add_argument("--full-index-interval", type=float, default=index.full_interval,
                          help="seconds between checks of every page for edits (%(default)s)")
    articles.add_argument("--feed-title", default=publication.title,
                          help="title of the feeds (default: the index page's title)")
    articles.add_argument("--feed-size", type=int, default=publication.feed_size,
                          help="articles in the gemfeed and Atom feed (%(default)s)")
    articles.add_argument("--recent-under-articles", type=int,
                          default=publication.recent_under_articles,
                          help="recent articles listed under every article, 0 for none "
                          "(%(default)s)")


def _add_mirror_options(command: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    mirror = command.add_argument_group("HTTP mirror")
    mirror.add_argument("--base-url", metavar="URL",
                        help="public URL of the mirror, e.g. https://example.org/")
    mirror.add_argument("--templates", type=Path, metavar="DIR",
                        help="directory of templates that override the packaged ones")
    mirror.add_argument("--inline-images", action="store_true",
                        help="show links to images as images")
    return mirror


def _add_site_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--root", type=Path, help="capsule directory (default: the demo)")
    command.add_argument(
        "--host", action="append", metavar="NAME[=ROOT]",
        help="host name to answer for, optionally with its own root; repeatable "
        "(default localhost)",
    )
    command.add_argument("--state-dir", type=Path, default=None,
                         help="where self-signed certificates are kept "
                         "(default $STATE_DIRECTORY or ~/.local/state/capsule)")
    command.add_argument("--cert-dir", type=Path, default=None,
                         help="operator certificates as DIR/HOST/cert.pem and key.pem; "
                         "hosts without them get a self-signed one")


def config_from_args(args: argparse.Namespace) -> Config:
    """Turn parsed arguments into the frozen Config, naming the option on errors."""
    hosts = tuple(_host(spec, args.cert_dir) for spec in (args.host or ["localhost"]))
    if len({host.name for host in hosts}) != len(hosts):
        raise ConfigError("--host: the same host name is given twice")
    listen_specs = getattr(args, "listen", None)
    listen = (
        tuple(ListenAddress.parse(spec, "--listen") for spec in listen_specs)
        if listen_specs
        else LOOPBACK_DEFAULTS
    )
    limits = Limits()
    if hasattr(args, "request_timeout"):
        limits = replace(
            limits,
            request_timeout=_positive(args.request_timeout, "--request-timeout"),
            exchange_timeout=_positive(args.exchange_timeout, "--exchange-timeout"),
            max_connections=int(_positive(args.max_connections, "--max-connections")),
            max_connections_per_ip=int(
                _positive(args.max_connections_per_ip, "--max-connections-per-ip")
            ),
            requests_per_second=_not_negative(args.requests_per_second, "--requests-per-second"),
            request_burst=int(_positive(args.request_burst, "--request-burst")),
            drain_timeout=_not_negative(args.drain_timeout, "--drain-timeout"),
        )
    root = args.root if args.root is not None else demo_root()
    if not root.is_dir():
        raise ConfigError(f"--root: {root} is not a directory")
    return Config(
        hosts=hosts,
        listen=listen,
        state_dir=args.state_dir or default_state_dir(),
        default_root=root,
        lang=getattr(args, "lang", None),
        limits=limits,
        mirror=_mirror_config(args),
        index=_index_settings(args),
        publication=_publication_settings(args),
    )


def _index_settings(args: argparse.Namespace) -> IndexSettings:
    if not hasattr(args, "no_index"):
        return IndexSettings()
    return IndexSettings(
        enabled=not args.no_index,
        quick_interval=_positive(args.index_interval, "--index-interval"),
        full_interval=_positive(args.full_index_interval, "--full-index-interval"),
    )


def _publication_settings(args: argparse.Namespace) -> PublicationSettings:
    if not hasattr(args, "feed_title"):
        return PublicationSettings()
    return PublicationSettings(
        title=args.feed_title,
        feed_size=int(_positive(args.feed_size, "--feed-size")),
        recent_under_articles=int(
            _not_negative(args.recent_under_articles, "--recent-under-articles")
        ),
    )


def _mirror_config(args: argparse.Namespace) -> MirrorConfig | None:
    if getattr(args, "no_http", False) or not hasattr(args, "base_url"):
        return None
    defaults = MirrorConfig()
    specs = getattr(args, "http", None)
    listen = (
        tuple(ListenAddress.parse(spec, "--http") for spec in specs) if specs else defaults.listen
    )
    if args.base_url is not None:
        parts = urlsplit(args.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--base-url: {args.base_url!r} is not an http(s) URL with a host")
    if args.templates is not None and not args.templates.is_dir():
        raise ConfigError(f"--templates: {args.templates} is not a directory")
    return MirrorConfig(
        listen=listen,
        base_url=args.base_url,
        templates=args.templates,
        inline_images=args.inline_images,
    )


def _host(spec: str, cert_dir: Path | None) -> HostConfig:
    name, _, root_text = spec.partition("=")
    name = name.strip().lower().rstrip(".")
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"--host: {spec!r} is not a host name")
    root = Path(root_text) if root_text else None
    if root is not None and not root.is_dir():
        raise ConfigError(f"--host: root {root_text!r} of {name} is not a directory")
    if cert_dir is not None and (cert_dir / name / "cert.pem").exists():
        return HostConfig(name, root, cert_dir / name / "cert.pem", cert_dir / name / "key.pem")
    return HostConfig(name, root)


def _positive(value: float, key: str) -> float:
    if value <= 0:
        raise ConfigError(f"{key}: {value} must be greater than 0")
    return value


def _not_negative(value: float, key: str) -> float:
    if value < 0:
        raise ConfigError(f"{key}: {value} must not be negative")
    return value


def print_fingerprints(config: Config) -> None:
    """Print, per host, the SHA-256 fingerprints of its certificate and public key."""
    for host in config.hosts:
        identity = identity_for(host, config)
        certificate = read_certificate(identity.cert_path)
        print(f"{host.name}")
        print(f"  certificate  {identity.cert_path}")
        print(f"  names        {', '.join(identity.names)}")
        print(f"  sha256 (certificate)  {certificate_fingerprint(certificate)}")
        print(f"  sha256 (public key)   {public_key_fingerprint(certificate)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `capsule` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    configure_logging()
    try:
        config = config_from_args(args)
        if args.command == "cert":
            print_fingerprints(config)
        elif args.command == "serve":
            trio.run(serve, config)
        elif args.command == "build":
            written = export(config, args.outdir)
            print(f"wrote {written} files to {args.outdir}")
    except (ConfigError, CertificateError) as error:
        print(f"capsule: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
