"""The TOML configuration file and the command line over it, validated into one Config."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capsule.publication.generated import PublicationSettings
from capsule.publication.robots import RobotsSettings
from capsule.rules.redirects import RedirectRule
from capsule.setting import POSITIVE
from server.daemon.cli import build_parser, defaults, load_config
from server.settings.config import (
    Config,
    ConfigError,
    HostConfig,
    IndexSettings,
    LimitSettings,
    ListenAddress,
    MirrorSettings,
)
from server.settings.reading import SETTINGS, Setting


def config_from(tmp_path: Path, toml: str, *flags: str) -> Config:
    path = tmp_path / "capsule.toml"
    path.write_text(toml)
    args = build_parser().parse_args(["serve", "--config", str(path), *flags])
    return load_config(args, build_parser())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    return root


def test_every_section_is_read(tmp_path: Path, root: Path) -> None:
    config = config_from(
        tmp_path,
        f"""
        root = "{root}"
        state_dir = "{tmp_path / "state"}"
        lang = "fr"
        listen = ["127.0.0.1:1966", "[::1]:1966"]
        workers = 2
        proxy_protocol = true

        [[hosts]]
        name = "Example.org"

        [mirror]
        listen = ["127.0.0.1:8081"]
        base_url = "https://example.org/"

        [limits]
        request_timeout = 2.5
        max_connections = 10

        [index]
        quick_interval = 1

        [publication]
        feed_size = 5

        [robots]
        generate = false
        disallow = ["/drafts/", "/café/"]

        [logging]
        level = "debug"

        [redirects]
        "/old.gmi" = "/new.gmi"

        [temporary_redirects]
        "/soon/*" = "/later/*"
        """,
    )
    assert config.default_root == root
    assert config.lang == "fr"
    assert config.listen == (ListenAddress("127.0.0.1", 1966), ListenAddress("::1", 1966))
    assert (config.workers, config.proxy_protocol) == (2, True)
    assert config.hosts == (HostConfig("example.org"),)
    assert config.mirror is not None and config.mirror.listen == (ListenAddress("127.0.0.1", 8081),)
    assert config.mirror.base_url == "https://example.org/"
    assert (config.limits.request_timeout, config.limits.max_connections) == (2.5, 10)
    assert config.index.quick_interval == 1.0
    assert config.publication.feed_size == 5
    assert config.robots == RobotsSettings(generate=False, disallow=("/drafts/", "/café/"))
    assert config.log_level == "DEBUG"
    assert config.redirects == (
        RedirectRule("/old.gmi", "/new.gmi", True),
        RedirectRule("/soon/*", "/later/*", False),
    )


def test_command_line_overrides_the_file(tmp_path: Path, root: Path) -> None:
    config = config_from(
        tmp_path,
        f'root = "{root}"\n[limits]\nrequest_timeout = 2.5\nmax_connections = 10\n',
        "--request-timeout",
        "7",
        "--no-http",
        "--host",
        "a.example",
    )
    assert config.limits.request_timeout == 7.0
    assert config.limits.max_connections == 10
    assert config.mirror is None
    assert config.hosts == (HostConfig("a.example"),)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("listen_on = ['x']", "unknown key listen_on"),
        ("[limits]\nrequest_timout = 3", "unknown key limits.request_timout"),
        ("[mirorr]\nlisten = []", "unknown key mirorr"),
        ("[[hosts]]\nname = 'a'\nroot_dir = '/'", "unknown key hosts[0].root_dir"),
        ("[logging]\nformat = 'json'", "unknown key logging.format"),
    ],
)
def test_unknown_keys_are_refused_by_name(tmp_path: Path, toml: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        config_from(tmp_path, toml)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[limits]\nrequest_timeout = 'soon'",
            "limits.request_timeout (.*): 'soon' is not a number",
        ),
        ("[limits]\nrequest_timeout = 0", "limits.request_timeout (.*): 0 must be greater than 0"),
        ("[limits]\nrequests_per_second = -1", "limits.requests_per_second (.*): -1 must be 0"),
        ("[limits]\nmax_connections = 1.5", "limits.max_connections (.*): 1.5 is not an integer"),
        ("[limits]\nmax_connections = true", "limits.max_connections (.*): True is not an integer"),
        ("listen = ['localhost']", "listen (.*): .* is not ADDRESS:PORT"),
        ("listen = ['127.0.0.1:99999']", "listen (.*): .*99999"),
        ("workers = 0", "workers (.*): 0 must be greater than 0"),
        ("proxy_protocol = 'yes'", "proxy_protocol (.*): 'yes' is not true or false"),
        ("root = '/no/such/dir'", "root (.*): '/no/such/dir' is not a directory"),
        ("[[hosts]]\nname = 'a/b'", r"hosts\[0\].name (.*): 'a/b' is not a host name"),
        ("[[hosts]]\nname = 'a'\ncert = 'c.pem'", r"hosts\[0\] (.*): cert and key must be given"),
        ("hosts = []", r"hosts (.*): \[\] must list at least one host"),
        ("[mirror]\nbase_url = 'ftp://x'", "mirror.base_url (.*): 'ftp://x' is not an http"),
        ("[logging]\nlevel = 'LOUD'", "logging.level (.*): 'LOUD' is not one of"),
        ("[redirects]\n'old' = '/new'", "redirects (.*): 'old' = '/new'"),
        ("[redirects]\n'/x' = '/\\evil.example/'", r"redirects (.*): '/x' = .*\(backslash\)"),
        ("[temporary_redirects]\n'/x' = '//evil.example/'", r"'/x' = '//evil.example/'.*scheme"),
        ('[redirects]\n"/x" = "/a\\u0001b"', r"'/x' = '/a\\x01b': bad target \(control"),
        ("[limits]\nsend_timeout = 0", "limits.send_timeout (.*): 0 must be greater than 0"),
        ("[mirror]\npage_cache_size = 256", "unknown key mirror.page_cache_size"),
        ("trusted_proxies = ['10.0.0.300']", "trusted_proxies (.*): .*not an address"),
        ("[[hosts]]\nname = 'a_b.example'", r"hosts\[0\].name (.*): 'a_b.example' is not a "
         r"host name \(Codepoint U\+005F"),
        ("[[hosts]]\nname = 3", r"hosts\[0\].name (.*): 3 is not a host name"),
        ("[[hosts]]\nname = 'café.example'\n[[hosts]]\nname = 'xn--caf-dma.example'",
         "names a host twice"),
        ("[mirror]\nbase_url = 'https://caf é.example/'", r"mirror.base_url (.*): .*bad host name"),
        ("limits = 3", "limits: must be a table"),
        ("[limits\nx=1", "not valid TOML"),
        ("[robots]\ndisallow = '/drafts/'", r"robots.disallow \(.*\): '/drafts/' is not a list"),
        ("[robots]\ndisallow = [1]", r"robots.disallow \(.*\): \[1\] is not a list of paths"),
        ("[robots]\ndisallow = ['drafts/']", r"robots.disallow \(.*\): 'drafts/' is not an abs"),
        ('[robots]\ndisallow = ["/a\\nSitemap: x"]', r"robots.disallow \(.*\): '/a\\nSitemap"),
        ("[robots]\ndisallow = ['/a b']", r"robots.disallow \(.*\): '/a b' is not an absolute"),
        ("[robots]\ndisallow = ['/search?q=x']", r"'/search\?q=x' is not an absolute path"),
        ("[robots]\ngenerate = 'no'", r"robots.generate \(.*\): 'no' is not true or false"),
    ],
)
def test_bad_values_are_refused_with_key_value_and_reason(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from(tmp_path, toml)


def test_bad_command_line_value_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"limits.request_timeout \(--request-timeout\): -1.0"):
        config_from(tmp_path, "", "--request-timeout", "-1")


@pytest.mark.parametrize(
    ("toml", "flags"),
    [
        ("[[hosts]]\nname = 'café.example'", ()),
        ("[[hosts]]\nname = 'CAFÉ.Example.'", ()),
        ("[[hosts]]\nname = 'xn--caf-dma.example'", ()),
        ("", ("--host", "café.example")),
        ("", ("--host", "Café.example.")),
    ],
)
def test_international_host_name_is_kept_in_its_idna_form(
    tmp_path: Path, toml: str, flags: tuple[str, ...]
) -> None:
    config = config_from(tmp_path, toml, *flags)
    assert [host.name for host in config.hosts] == ["xn--caf-dma.example"]


def test_bad_host_flag_is_refused_naming_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hosts\[0\] \(--host\): 'caf é.example' is not a host"):
        config_from(tmp_path, "", "--host", "caf é.example")


def test_international_base_url_host_is_kept_in_its_idna_form(tmp_path: Path) -> None:
    config = config_from(tmp_path, "[mirror]\nbase_url = 'https://Café.example:8443/news/'")
    assert config.mirror is not None
    assert config.mirror.base_url == "https://xn--caf-dma.example:8443/news/"


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    args = build_parser().parse_args(["serve", "--config", str(tmp_path / "none.toml")])
    with pytest.raises(ConfigError, match=r"none\.toml: cannot read"):
        load_config(args, build_parser())


def test_cert_dir_supplies_operator_certificates(tmp_path: Path) -> None:
    (tmp_path / "certs" / "example.org").mkdir(parents=True)
    config = config_from(
        tmp_path, f'cert_dir = "{tmp_path / "certs"}"\n[[hosts]]\nname = "example.org"\n'
    )
    assert config.hosts[0].cert == tmp_path / "certs" / "example.org" / "cert.pem"


def test_trusted_proxies_are_networks(tmp_path: Path) -> None:
    config = config_from(tmp_path, "trusted_proxies = ['10.0.0.5', '2001:db8::/32']")
    assert [str(network) for network in config.trusted_proxies] == ["10.0.0.5/32", "2001:db8::/32"]


NUMBERS = [s for s in SETTINGS.values() if s.kind in (int, float)]


def toml_for(key: str, value: str) -> str:
    """A file setting the dotted `key` to the TOML `value`."""
    table, _, name = key.rpartition(".")
    return f"[{table}]\n{name} = {value}\n" if table else f"{name} = {value}\n"


def value_in(config: Config, setting: Setting) -> Any:
    holder = getattr(config, setting.section) if setting.section else config
    return getattr(holder, setting.name)


@pytest.mark.parametrize("setting", NUMBERS, ids=lambda s: s.key)
def test_a_negative_number_is_refused_with_the_declared_bound(
    tmp_path: Path, setting: Setting
) -> None:
    bound = setting.declaration.bound.value
    with pytest.raises(ConfigError, match=rf"^{setting.key} \(.*\): -1 must be {bound}$"):
        config_from(tmp_path, toml_for(setting.key, "-1"))


@pytest.mark.parametrize("setting", NUMBERS, ids=lambda s: s.key)
def test_zero_is_refused_only_where_the_bound_is_positive(tmp_path: Path, setting: Setting) -> None:
    if setting.declaration.bound is POSITIVE:
        with pytest.raises(ConfigError, match=rf"^{setting.key} \(.*\): 0 must be greater than 0"):
            config_from(tmp_path, toml_for(setting.key, "0"))
    else:
        assert value_in(config_from(tmp_path, toml_for(setting.key, "0")), setting) == 0


def test_not_a_number_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"limits.request_timeout \(.*\): nan is not a number"):
        config_from(tmp_path, "[limits]\nrequest_timeout = nan")


def test_a_file_of_every_declared_default_gives_the_defaults(tmp_path: Path) -> None:
    lines: dict[str | None, list[str]] = {}
    for setting in SETTINGS.values():
        if setting.default in (None, dataclasses.MISSING):
            continue
        default = setting.default
        value = [str(item) for item in default] if isinstance(default, tuple) else default
        name = setting.key.rpartition(".")[2]
        table = setting.key.rpartition(".")[0] or None
        lines.setdefault(table, []).append(f"{name} = {json.dumps(value)}")
    toml = "\n".join(lines.pop(None)) + "\n"
    toml += "".join(f"[{table}]\n" + "\n".join(body) + "\n" for table, body in lines.items())
    config = config_from(tmp_path, toml)
    assert (config.limits, config.mirror) == (LimitSettings(), MirrorSettings())
    assert (config.index, config.publication) == (IndexSettings(), PublicationSettings())
    assert config.robots == RobotsSettings()
    assert (config.workers, config.proxy_protocol, config.trusted_proxies) == (1, False, ())
    assert config.log_level == "INFO"


def test_every_declared_flag_is_an_option_of_serve_that_sets_its_key() -> None:
    options = serve_options()
    for setting in SETTINGS.values():
        if setting.flag is not None:
            assert options[setting.flag].dest == setting.key


@pytest.mark.parametrize(
    "setting",
    [s for s in SETTINGS.values() if s.flag and s.kind is not bool and s.shown_default],
    ids=lambda s: s.key,
)
def test_help_shows_the_declared_default(setting: Setting) -> None:
    assert setting.flag is not None
    action = serve_options()[setting.flag]
    assert action.help is not None
    assert action.help.endswith(f"(default: {setting.shown_default})")


def test_computed_defaults_read_as_their_help_says() -> None:
    computed = defaults()
    assert SETTINGS["listen"].shown_default == ", ".join(map(str, computed["listen"]))
    assert SETTINGS["hosts"].shown_default == computed["hosts"][0].name


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--no-index", lambda c: not c.index.enabled),
        ("--proxy-protocol", lambda c: c.proxy_protocol),
        ("--no-inline-images", lambda c: not c.mirror.inline_images),
    ],
)
def test_a_switch_turns_its_setting_from_its_default(
    tmp_path: Path, flag: str, expected: Callable[[Config], bool]
) -> None:
    assert expected(config_from(tmp_path, "", flag))


def test_enabled_belongs_to_the_mirror_and_the_index_only(tmp_path: Path) -> None:
    assert config_from(tmp_path, "[mirror]\nenabled = false").mirror is None
    assert not config_from(tmp_path, "[index]\nenabled = false").index.enabled
    with pytest.raises(ConfigError, match=r"unknown key limits\.enabled"):
        config_from(tmp_path, "[limits]\nenabled = false")


def test_a_setting_without_a_flag_is_read_from_the_file(tmp_path: Path) -> None:
    assert "--chunk-size" not in serve_options()
    assert config_from(tmp_path, "[limits]\nchunk_size = 3").limits.chunk_size == 3


def serve_options() -> dict[str, argparse.Action]:
    """The options of `capsule serve`, by flag."""
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    serve: argparse.ArgumentParser = commands.choices["serve"]
    return {flag: action for action in serve._actions for flag in action.option_strings}


@pytest.mark.parametrize(
    ("given", "address"),
    [
        ("9465", ListenAddress("127.0.0.1", 9465)),
        ("0.0.0.0:9465", ListenAddress("0.0.0.0", 9465)),
        ("[::1]:9465", ListenAddress("::1", 9465)),
    ],
)
def test_metrics_address_is_on_loopback_unless_one_is_given(
    tmp_path: Path, given: str, address: ListenAddress
) -> None:
    assert config_from(tmp_path, "", "--metrics", given).metrics == address
    assert config_from(tmp_path, f'metrics = "{given}"').metrics == address


def test_metrics_are_off_by_default(tmp_path: Path) -> None:
    assert config_from(tmp_path, "").metrics is None


def test_bad_metrics_address_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"metrics \(--metrics\): 'here:x'"):
        config_from(tmp_path, "", "--metrics", "here:x")
