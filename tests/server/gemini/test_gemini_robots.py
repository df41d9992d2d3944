"""robots.txt over real TLS: the generated rules for Gemini's virtual user agents, or the root's."""

from __future__ import annotations

from pathlib import Path

from tests.harness import StartServer, fetch, write_page


async def test_generated_robots_txt_speaks_to_every_virtual_agent(
    start_server: StartServer,
) -> None:
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/robots.txt")
    assert response.header == b"20 text/plain; charset=utf-8"
    rules = [line for line in response.body.decode().splitlines() if not line.startswith("#")]
    assert rules == [
        "User-agent: archiver",
        "User-agent: indexer",
        "User-agent: researcher",
        "User-agent: webproxy",
        "User-agent: *",
        "Disallow: /search",
    ]


async def test_a_robots_txt_in_the_root_wins(
    start_server: StartServer, capsule_root: Path
) -> None:
    write_page(capsule_root, "/robots.txt", "User-agent: indexer\nDisallow: /\n")
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/robots.txt")
    assert response.header == b"20 text/plain; charset=utf-8"
    assert response.body == b"User-agent: indexer\nDisallow: /\n"
