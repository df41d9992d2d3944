"""The `capsule` command line: serve, print certificate fingerprints, export, check."""

from __future__ import annotations

import argparse
import os
import sys
import typing
from collections.abc import Callable, Sequence
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from capsule.check import check_capsule
from certs import (
    CertificateError,
    certificate_fingerprint,
    load_identity,
    public_key_fingerprint,
    read_certificate,
    self_signed_files,
)
from server.accesslog import configure_logging
from server.assemble import StateDirectoryError, identity_for
from server.daemon.run import run_server
from server.daemon.systemd import UNITS, SocketActivationError, unit_file
from server.hostnames import unicode_host
from server.mirror.export import export
from server.settings.config import DEFAULT_HOST, LOOPBACK_DEFAULTS, Config, ConfigError, HostConfig
from server.settings.reading import SETTINGS, Values, build_config, read_file, without_none


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
    """Values of the settings without a declared default: they depend on the machine."""
    return {
        "root": demo_root(),
        "state_dir": default_state_dir(),
        "listen": LOOPBACK_DEFAULTS,
        "hosts": [HostConfig(DEFAULT_HOST)],
    }


SITE = ("root", "hosts", "state_dir", "cert_dir", "lang")
"""Settings of every command that reads a capsule; the other top-level ones serve Gemini."""
GEMINI = (
    "listen",
    "workers",
    "proxy_protocol",
    "trusted_proxies",
    "logging.level",
    "logging.access_log",
    "logging.access_flush_interval",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand, its flags generated from the settings."""
    parser = argparse.ArgumentParser(
        prog="capsule", description="A Gemini capsule server with an HTTP mirror."
    )
    parser.add_argument("--version", action="version", version=f"capsule {version('capsule')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve capsules over Gemini and HTTP")
    _site_options(serve)
    _add_settings(serve.add_argument_group("gemini"), GEMINI)
    mirror = serve.add_argument_group("http mirror")
    _add_settings(mirror, ["mirror.listen"])
    mirror.add_argument(
        "--no-http",
        dest="mirror.enabled",
        action="store_const",
        const=False,
        default=argparse.SUPPRESS,
        help="serve Gemini only",
    )
    _add_settings(mirror, _rendering_options())
    _add_settings(serve.add_argument_group("https"), _flags_of("https"))
    publication = serve.add_argument_group("articles, feeds and search")
    _add_settings(publication, _flags_of("index") + _flags_of("publication"))
    _add_settings(serve.add_argument_group("limits"), _flags_of("limits"))
    _add_settings(serve.add_argument_group("operations"), ["metrics"])
    cert = commands.add_parser("cert", help="print each host's certificate fingerprints")
    _site_options(cert)
    build = commands.add_parser("build", help="write the HTTP mirror as static files")
    build.add_argument("outdir", type=Path, metavar="OUTDIR", help="where to write the files")
    _site_options(build)
    _add_settings(build.add_argument_group("http mirror"), _rendering_options())
    check = commands.add_parser("check", help="validate the configuration and every page")
    _site_options(check)
    units = commands.add_parser("systemd-unit", help="print a systemd unit shipped with capsule")
    units.add_argument(
        "unit",
        nargs="?",
        choices=UNITS,
        default=UNITS[0],
        help="which one (default: %(default)s); the sockets keep connections across restarts",
    )
    return parser


def _site_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    _add_settings(command, SITE)


def _flags_of(section: str) -> list[str]:
    return [s.key for s in SETTINGS.values() if s.section == section and s.flag is not None]


def _rendering_options() -> list[str]:
    """The mirror's flags that shape its pages, which a static export takes too."""
    return [key for key in _flags_of("mirror") if key != "mirror.listen"]


def _add_settings(group: argparse._ActionsContainer, keys: Sequence[str]) -> None:
    """A flag per setting, from its declaration; its destination is the key it overrides."""
    for key in keys:
        setting = SETTINGS[key]
        assert setting.flag is not None, f"{key} has no flag"
        help = setting.declaration.help.replace("%", "%%")
        kind = without_none(setting.kind)
        if kind is bool:
            # A switch turns its setting away from the default: --proxy-protocol, --no-index.
            how: dict[str, Any] = {"action": "store_const", "const": not setting.default}
        else:
            if setting.shown_default is not None:
                help += f" (default: {setting.shown_default.replace('%', '%%')})"
            how = {"metavar": setting.declaration.metavar, "type": _argument_type(kind)}
            if typing.get_origin(kind) is tuple:
                how["action"] = "append"
        group.add_argument(setting.flag, dest=key, default=argparse.SUPPRESS, help=help, **how)


def _argument_type(kind: Any) -> Callable[[str], Any]:
    """How one command-line value is read; the settings validate it after."""
    if kind in (int, float, Path):
        return cast(Callable[[str], Any], kind)
    if typing.get_origin(kind) is tuple and typing.get_args(kind)[0] is HostConfig:
        return _host_option
    return str


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
    skip = {"command", "config", "outdir", "unit", "help"}
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
        cert_path = host.cert or self_signed_files(config.state_dir, host.name).cert
        if not cert_path.exists():
            raise CertificateError(
                f"{host.name}: no certificate at {cert_path} yet; `capsule serve` with the same "
                "--state-dir (or config) creates it on first start"
            )
        identity = identity_for(host, config)
        certificate = read_certificate(identity.cert_path)
        shown = unicode_host(host.name)
        print(shown if shown == host.name else f"{shown} ({host.name})")
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
        print(unit_file(args.unit), end="")
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
            report = check_capsule(
                root,
                generated_paths=config.index.enabled,
                recent_size=config.publication.recent_size,
                max_page_bytes=config.limits.max_page_bytes,
            )
        except OSError as error:
            print(f"{root}: error: {error}")
            failed = True
            continue
        print(f"{root}:")
        print(report.format())
        failed = failed or bool(report.errors)
    print("configuration is valid" + ("; the capsule has errors" if failed else ""))
    return 1 if failed else 0

