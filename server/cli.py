"""The `capsule` command line: serve, print certificate fingerprints, export, check."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

from capsule.check import check_capsule
from capsule.meta import check_meta_files
from certs import (
    CertificateError,
    certificate_fingerprint,
    load_identity,
    public_key_fingerprint,
    read_certificate,
)
from server.accesslog import configure_logging
from server.config import Config, ConfigError, HostConfig
from server.export import export
from server.run import LOOPBACK_DEFAULTS, StateDirectoryError, identity_for, run_server
from server.settings import Values, build_config, read_file
from server.systemd import SocketActivationError, unit_file


def demo_root() -> Path:
    """The capsule shipped inside the package, served when no root is given."""
    return Path(str(files("capsule").joinpath("demo")))


def default_state_dir() -> Path:
    """Where certificates and indexes live: systemd's StateDirectory, else XDG state home."""
    if systemd_state := os.environ.get("STATE_DIRECTORY"):
        return Path(systemd_state.split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "capsule"


def defaults() -> dict[str, Any]:
    """Values for keys that neither the config file nor the command line set."""
    return {
        "root": demo_root(),
        "state_dir": default_state_dir(),
        "listen": LOOPBACK_DEFAULTS,
        "hosts": [HostConfig("localhost")],
        "workers": 1,
        "proxy_protocol": False,
        "logging.level": "INFO",
    }


class _Options:
    """Adds flags whose destination is the config key they override."""

    def __init__(self, parser: argparse.ArgumentParser, title: str | None = None) -> None:
        self.group = parser.add_argument_group(title) if title else parser

    def add(self, flag: str, key: str, help: str, **kwargs: Any) -> None:
        if kwargs.get("action") != "store_const":
            kwargs.setdefault("metavar", _metavar(flag, kwargs.get("type")))
        self.group.add_argument(flag, dest=key, default=argparse.SUPPRESS, help=help, **kwargs)


def _metavar(flag: str, kind: object) -> str:
    if kind is int:
        return "N"
    if kind is float:
        return "SECONDS" if ("timeout" in flag or "interval" in flag) else "NUMBER"
    return flag.lstrip("-").split("-")[-1].upper()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="capsule", description="A Gemini capsule server with an HTTP mirror."
    )
    parser.add_argument("--version", action="version", version=f"capsule {version('capsule')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve capsules over Gemini and HTTP")
    _site_options(serve)
    _serve_options(serve)
    _mirror_options(serve)
    _publication_options(serve)
    _limit_options(serve)
    cert = commands.add_parser("cert", help="print each host's certificate fingerprints")
    _site_options(cert)
    build = commands.add_parser("build", help="write the HTTP mirror as static files")
    build.add_argument("outdir", type=Path, metavar="OUTDIR", help="where to write the files")
    _site_options(build)
    _mirror_options(build)
    check = commands.add_parser("check", help="validate the configuration and every page")
    _site_options(check)
    commands.add_parser("systemd-unit", help="print the systemd unit shipped with capsule")
    return parser


def _site_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    options = _Options(command)
    options.add("--root", "root", "capsule directory for hosts without their own (default: "
                "the demo capsule)", type=Path, metavar="DIR")
    options.add("--host", "hosts", "host name to answer for, optionally with its own root; "
                "repeatable (default localhost)", action="append", metavar="NAME[=ROOT]",
                type=_host_option)
    options.add("--state-dir", "state_dir", "where certificates and indexes are kept "
                "(default $STATE_DIRECTORY or ~/.local/state/capsule)", type=Path, metavar="DIR")
    options.add("--cert-dir", "cert_dir", "operator certificates as DIR/HOST/cert.pem and "
                "key.pem; hosts without them get a self-signed one", type=Path, metavar="DIR")
    options.add("--lang", "lang", "language of the gemtext pages, e.g. en")


def _serve_options(command: argparse.ArgumentParser) -> None:
    options = _Options(command, "gemini")
    options.add("--listen", "listen", "address to listen on, repeatable "
                "(default 127.0.0.1:1965 and [::1]:1965)", action="append", metavar="ADDR:PORT")
    options.add("--workers", "workers", "processes sharing the ports (default 1)", type=int)
    options.add("--proxy-protocol", "proxy_protocol", "expect a PROXY protocol header on every "
                "Gemini connection (behind a load balancer)", action="store_const", const=True)
    options.add("--trusted-proxy", "trusted_proxies", "address or network allowed to send "
                "PROXY headers, repeatable (default: any peer)", action="append", metavar="NET")
    options.add("--log-level", "logging.level", "DEBUG, INFO, WARNING or ERROR")


def _mirror_options(command: argparse.ArgumentParser) -> None:
    options = _Options(command, "http mirror")
    if command.prog.endswith("serve"):
        options.add("--http", "mirror.listen", "address of the HTTP mirror, repeatable "
                    "(default 127.0.0.1:8080)", action="append", metavar="ADDR:PORT")
        options.add("--no-http", "mirror.enabled", "serve Gemini only", action="store_const",
                    const=False)
    options.add("--base-url", "mirror.base_url", "public URL of the mirror, e.g. "
                "https://example.org/", metavar="URL")
    options.add("--templates", "mirror.templates", "templates that override the packaged ones",
                type=Path, metavar="DIR")
    options.add("--inline-images", "mirror.inline_images", "show links to images as images",
                action="store_const", const=True)


def _publication_options(command: argparse.ArgumentParser) -> None:
    options = _Options(command, "articles, feeds and search")
    options.add("--no-index", "index.enabled", "keep no catalog: no archive, feeds, search or "
                "recent lists", action="store_const", const=False)
    options.add("--index-interval", "index.quick_interval", "seconds between checks for new "
                "and deleted pages (2)", type=float)
    options.add("--full-index-interval", "index.full_interval", "seconds between checks of "
                "every page for edits (60)", type=float)
    options.add("--feed-title", "publication.title", "title of the feeds (default: the index "
                "page's title)")
    options.add("--feed-size", "publication.feed_size", "articles in the feeds (50)", type=int)
    options.add("--recent-under-articles", "publication.recent_under_articles", "recent "
                "articles listed under every article, 0 for none (0)", type=int)


def _limit_options(command: argparse.ArgumentParser) -> None:
    options = _Options(command, "limits")
    for flag, key, help, kind in (
        ("--request-timeout", "request_timeout", "seconds to finish TLS and the request (5)",
         float),
        ("--exchange-timeout", "exchange_timeout", "seconds for a whole exchange (300)", float),
        ("--max-connections", "max_connections", "connections served at once (1024)", int),
        ("--max-connections-per-ip", "max_connections_per_ip",
         "connections one client address may hold (32)", int),
        ("--requests-per-second", "requests_per_second",
         "sustained requests per client address, 0 for no limit (20)", float),
        ("--request-burst", "request_burst", "requests per client address in a burst (60)", int),
        ("--drain-timeout", "drain_timeout", "seconds in-flight requests get to finish (10)",
         float),
        ("--send-timeout", "send_timeout", "seconds a client may take no bytes of a response "
         "(30)", float),
        ("--max-page-bytes", "max_page_bytes", "gemtext pages above this size are sent as they "
         "are, unparsed (1048576)", int),
    ):
        options.add(flag, f"limits.{key}", help, type=kind)


def _host_option(spec: str) -> HostConfig:
    name, _, root = spec.partition("=")
    return HostConfig(name.strip().lower().rstrip("."), Path(root) if root else None)


def command_line_values(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Values:
    """The keys set on the command line, each labelled with the flag that set it."""
    flags = {
        action.dest: action.option_strings[0]
        for subparser in _subparsers(parser)
        for action in subparser._actions
        if action.option_strings
    }
    skip = {"command", "config", "outdir", "help"}
    return {
        key: (value, flags.get(key, key)) for key, value in vars(args).items() if key not in skip
    }


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += list(action.choices.values())
    return found


def load_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Config:
    """The config file (if any) with the command line over it."""
    values: Values = read_file(args.config) if getattr(args, "config", None) else {}
    values.update(command_line_values(args, parser))
    return build_config(values, defaults())


def print_fingerprints(config: Config) -> None:
    """Print, per host, the SHA-256 fingerprints of the certificate it serves and its key."""
    for host in config.hosts:
        cert_path = host.cert or config.state_dir / "certs" / host.name / "cert.pem"
        if not cert_path.exists():
            raise CertificateError(
                f"{host.name}: no certificate at {cert_path} yet; `capsule serve` with the same "
                "--state-dir (or config) creates it on first start"
            )
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
    if args.command == "systemd-unit":
        print(unit_file(), end="")
        return 0

    def reload() -> Config:
        return load_config(args, parser)

    try:
        config = reload()
        configure_logging(config.log_level)
        commands: dict[str, Callable[[], int]] = {
            "serve": lambda: run_server(config, reload, os.environ),
            "cert": lambda: _cert(config),
            "build": lambda: _build(config, args.outdir),
            "check": lambda: _check(config),
        }
        return commands[args.command]()
    except (ConfigError, CertificateError, SocketActivationError) as error:
        print(f"capsule: {error}", file=sys.stderr)
        return 2
    except StateDirectoryError as error:
        print(f"capsule: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def _cert(config: Config) -> int:
    print_fingerprints(config)
    return 0


def _build(config: Config, outdir: Path) -> int:
    written = export(config, outdir)
    print(f"wrote {written} files to {outdir}")
    return 0


def _check(config: Config) -> int:
    """Validate operator certificates and every page; non-zero if anything is broken."""
    failed = False
    for host in config.hosts:
        if host.cert is not None and host.key is not None:
            try:
                load_identity(host.name, host.cert, host.key)
            except CertificateError as error:
                print(f"{host.name}: error: {error}")
                failed = True
    roots = dict.fromkeys(config.root_for(host).resolve() for host in config.hosts)
    for root in roots:
        try:
            report = check_capsule(root, generated_paths=config.index.enabled)
        except OSError as error:
            print(f"{root}: error: {error}")
            failed = True
            continue
        print(f"{root}:")
        for warning in check_meta_files(root):
            print(f"{str(warning).lstrip('/')}: error: in .meta")
            failed = True
        print(report.format())
        failed = failed or bool(report.errors)
    print("configuration is valid" + ("; the capsule has errors" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
