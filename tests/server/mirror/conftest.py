"""Fixtures for the mirror: a capsule on disk with tricky pages, and an in-process mirror."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path

import pytest
import trio

from capsule.resources import Resource
from capsule.root import Capsule
from server.accesslog import AccessLog
from server.assemble import catalogs_of
from server.mirror.request import HostNames
from server.mirror.responses import Mirror
from server.mirror.server import MirrorServer
from server.mirror.site import build_mirror
from server.proxies import IPNetwork
from server.settings.config import Config, HostConfig, LimitSettings, ListenAddress, MirrorSettings

PAGES = {
    "index.gmi": (
        "# Home\n"
        "Welcome.\n"
        "=> a/b.gmi A relative page\n"
        "=> gemini://localhost/about.gmi Our own host, absolute\n"
        "=> gemini://elsewhere.example/page.gmi Another capsule\n"
        "=> https://example.org/ The web\n"
        "=> files/note.txt A note\n"
        "* first\n"
        "* second\n"
        "* third\n"
    ),
    "about.gmi": "# About\n=> / Home\n",
    "a/index.gmi": "# Section A\n=> b.gmi B\n=> ../about.gmi About\n",
    "a/b.gmi": "# Page B\n=> ./ Section\n=> ../index.gmi Home\n=> /files/note.txt Note\n",
    "xss.gmi": (
        "# <script>alert('heading')</script>\n"
        "=> javascript:alert(1) <script>alert('label')</script>\n"
        "=> picture.png <img src=x onerror=alert(1)>\n"
        "```<script>alert('alt')</script>\n"
        "</pre><script>alert('pre')</script>\n"
        "```\n"
    ),
    "files/note.txt": "a note\n",
}


def write_capsule(root: Path) -> Path:
    """A capsule with the pages above, and a secret file next to (not inside) the root."""
    for name, text in PAGES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root.parent / "secret.txt").write_text("outside the root\n")
    return root


class ScriptedCapsule(Capsule):
    """A capsule that answers some paths with fixed resources (those the disk cannot express)."""

    def __init__(self, root: Path, scripted: Mapping[str, Resource]) -> None:
        super().__init__(root)
        self.scripted = dict(scripted)
        self.queries: dict[str, str | None] = {}
        """The last query each path was resolved with."""

    def resolve(self, path: str, query: str | None = None, identity: object = None) -> Resource:
        self.queries[path] = query
        return self.scripted.get(path) or super().resolve(path, query)

    def resolve_at_once(
        self, path: str, query: str | None = None, identity: object = None
    ) -> Resource | None:
        """Nothing at once: every request goes through `resolve`, which tests may patch."""
        return None


def mirror_config(root: Path, tmp_path: Path, **settings: object) -> Config:
    """A config for `root` answering for localhost, with mirror settings overridden."""
    return Config(
        hosts=(HostConfig("localhost"),),
        listen=(ListenAddress("127.0.0.1", 0),),
        state_dir=tmp_path / "state",
        default_root=root,
        limits=LimitSettings(requests_per_second=0),
        mirror=MirrorSettings(**settings),  # type: ignore[arg-type]
    )


StartMirror = Callable[..., Awaitable[int]]


@pytest.fixture
def capsule_root(tmp_path: Path) -> Path:
    return write_capsule(tmp_path / "capsule")


@pytest.fixture
async def start_mirror(
    nursery: trio.Nursery, tmp_path: Path, capsule_root: Path
) -> AsyncIterator[StartMirror]:
    """Start an in-process mirror on 127.0.0.1; returns its port."""
    events: list[trio.Event] = []

    async def start(
        limits: LimitSettings | None = None,
        scripted: Mapping[str, Resource] | None = None,
        root: Path | None = None,
        trusted_proxies: tuple[IPNetwork, ...] = (),
        access_log: AccessLog | None = None,
        **settings: object,
    ) -> int:
        config = mirror_config(root or capsule_root, tmp_path, **settings)
        mirror, names = build_mirror(config)
        for catalog in catalogs_of(mirror.capsules):
            catalog.refresh()
        if scripted is not None:
            capsule = ScriptedCapsule(capsule_root, scripted)
            mirror = Mirror({"localhost": capsule}, mirror.renderer, None)
            names = HostNames.build(["localhost"], "localhost")
        assert config.mirror is not None
        server = MirrorServer(
            mirror,
            names,
            limits or config.limits,
            config.mirror,
            access_log or AccessLog(),
            trusted_proxies,
        )
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        shutdown = trio.Event()
        events.append(shutdown)
        nursery.start_soon(server.serve, listeners, shutdown)
        return int(listeners[0].socket.getsockname()[1])

    yield start
    for event in events:
        event.set()
