"""favicon.txt and security.txt over real TLS, while every other dot name stays hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import StartServer, fetch, write_page

SECURITY_TXT = "Contact: mailto:security@example.org\nExpires: 2030-12-31T23:59:59Z\n"


async def test_favicon_txt_is_served_as_plain_text(
    start_server: StartServer, capsule_root: Path
) -> None:
    write_page(capsule_root, "/favicon.txt", "🌻\n")
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/favicon.txt")
    assert response.header == b"20 text/plain; charset=utf-8"
    assert response.body == "🌻\n".encode()


async def test_without_favicon_txt_clients_get_not_found(start_server: StartServer) -> None:
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/favicon.txt")
    assert response.status == 51


async def test_security_txt_is_served_from_well_known(
    start_server: StartServer, capsule_root: Path
) -> None:
    write_page(capsule_root, "/.well-known/security.txt", SECURITY_TXT)
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/.well-known/security.txt")
    assert response.header == b"20 text/plain; charset=utf-8"
    assert response.body == SECURITY_TXT.encode()


@pytest.mark.parametrize(
    "path",
    [
        "/.git/config",
        "/.hidden.gmi",
        "/.well-known2/security.txt",
        "/.well-known/.secret",
        "/.well-known/../.git/config",
    ],
)
async def test_other_dot_names_stay_hidden(
    start_server: StartServer, capsule_root: Path, path: str
) -> None:
    for name in ("/.git/config", "/.hidden.gmi", "/.well-known2/security.txt",
                 "/.well-known/.secret"):
        write_page(capsule_root, name, "private\n")
    server = await start_server()
    response = await fetch(server.port, f"gemini://localhost{path}")
    assert response.status == 51
