"""Shared fixtures: an in-process Gemini server on 127.0.0.1 over a real capsule directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from certs import session_context
from server.accesslog import AccessLog
from server.daemon.sockets import bound_ports
from server.gemini.server import GeminiServer
from server.gemini.site import build_site
from server.settings.config import Config, HostConfig, LimitSettings, ListenAddress, TitanPaths
from tests.harness import RunningServer, StartServer, write_capsule


@pytest.fixture
def capsule_root(tmp_path: Path) -> Path:
    return write_capsule(tmp_path / "capsule")


@pytest.fixture
async def start_server(
    nursery: trio.Nursery, tmp_path: Path, capsule_root: Path
) -> AsyncIterator[StartServer]:
    """Start a Gemini server with the given limits, hosts, language and upload rules."""
    events: list[trio.Event] = []

    async def start(
        limits: LimitSettings | None = None,
        hosts: tuple[HostConfig, ...] = (HostConfig("localhost"),),
        lang: str | None = None,
        address: str = "127.0.0.1",
        titan: tuple[TitanPaths, ...] = (),
    ) -> RunningServer:
        config = Config(
            hosts=hosts,
            listen=(ListenAddress(address, 0),),
            state_dir=tmp_path / "state",
            default_root=capsule_root,
            lang=lang,
            limits=limits or LimitSettings(requests_per_second=0),
            titan=titan,
        )
        listeners = await trio.open_tcp_listeners(0, host=address)
        ports = bound_ports(listeners)
        site = build_site(config, ports, session_context())
        server = GeminiServer(site, config.limits, AccessLog())
        shutdown = trio.Event()
        events.append(shutdown)
        nursery.start_soon(server.serve, listeners, shutdown)
        return RunningServer(next(iter(ports)), server, config, shutdown)

    yield start
    for event in events:
        event.set()
