"""The static export served by real nginx with the example config: every file as written, and
the gzip siblings to readers who accept gzip."""

from __future__ import annotations

from pathlib import Path

from server.daemon.cli import demo_root
from server.mirror.export import export
from tests.fronts.test_web_fronts import _request
from tests.fronts.web_fronts import NGINX_STATIC_EXAMPLE, Nginx, TestAuthority
from tests.server.mirror.conftest import mirror_config


def test_nginx_serves_the_export_and_its_gzip_siblings(tmp_path: Path) -> None:
    site = tmp_path / "site"
    export(mirror_config(demo_root(), tmp_path, base_url="https://capsule.example/"), site)
    authority = TestAuthority.create(tmp_path / "ca")
    (tmp_path / "nginx").mkdir()
    with Nginx(tmp_path / "nginx", 0, authority, NGINX_STATIC_EXAMPLE, site) as nginx:
        address = ("127.0.0.1", nginx.https_port)
        host = [("Host", f"localhost:{nginx.https_port}")]
        compressed = 0
        files = [path for path in site.rglob("*") if path.is_file() and path.suffix != ".gz"]
        for file in files:
            path = "/" + file.relative_to(site).as_posix()
            plain = _request(address, path, "127.0.0.1", host, authority.client_context())
            packed = _request(address, path, "127.0.0.1", [*host, ("Accept-Encoding", "gzip")],
                              authority.client_context())
            assert (plain.status, plain.body) == (200, file.read_bytes()), path
            sibling = file.with_name(file.name + ".gz")
            if sibling.exists():
                assert packed.headers["content-encoding"] == "gzip", path
                assert packed.body == sibling.read_bytes(), path
                compressed += 1
            else:
                assert packed.body == file.read_bytes(), path
        page = _request(address, "/", "127.0.0.1", host, authority.client_context())
        assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert compressed >= 10
