"""The Gemini server over real TLS on loopback: statuses, safety, limits, close_notify."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
from pathlib import Path

import pytest
import trio
import trio.testing
from cryptography import x509

from certs import certificate_fingerprint, read_certificate
from server.settings.config import HostConfig, LimitSettings
from tests.harness import StartServer, client_context, fetch, open_tls, read_response

# --- statuses -----------------------------------------------------------------------------------


async def test_page_is_served_as_gemtext(start_server: StartServer) -> None:
    server = await start_server()
    response = await fetch(server.port, f"gemini://localhost:{server.port}/")
    assert response.header == b"20 text/gemini; charset=utf-8"
    assert response.body == b"# Welcome\n=> docs/ Docs\n"


async def test_configured_language_is_in_the_meta(start_server: StartServer) -> None:
    server = await start_server(lang="en")
    response = await fetch(server.port, "gemini://localhost/")
    assert response.header == b"20 text/gemini; charset=utf-8; lang=en"


async def test_file_is_served_with_its_mime_type(start_server: StartServer) -> None:
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/notes.txt")
    assert response.header == b"20 text/plain; charset=utf-8"
    assert response.body == b"plain text\n"


async def test_unknown_file_is_octet_stream_and_byte_exact(start_server: StartServer) -> None:
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/data.bin")
    assert response.header == b"20 application/octet-stream"
    assert response.body == bytes(range(256))


async def test_directory_index_is_served(start_server: StartServer) -> None:
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/docs/")
    assert (response.status, response.body) == (20, b"# Docs\n")


async def test_directory_without_slash_redirects(start_server: StartServer) -> None:
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/docs")
    assert response.header == b"31 /docs/"


async def test_empty_path_redirects_to_root(start_server: StartServer) -> None:
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost")
    assert response.header == b"31 gemini://localhost/"


async def test_missing_file_is_51(start_server: StartServer) -> None:
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost/missing.gmi")
    assert response.status == 51


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"gemini://localhost/#fragment\r\n", 59),
        (b"gemini://user@localhost/\r\n", 59),
        (b"gemini://localhost/\xff\xfe\r\n", 59),
        (b"gemini://localhost/\n", 59),
        (b"/relative/path\r\n", 59),
        (b"gemini://localhost/" + b"a" * 1100 + b"\r\n", 59),
        (b"https://localhost/\r\n", 53),
        (b"gemini://elsewhere.example/\r\n", 53),
        (b"gemini://localhost:1/\r\n", 53),
    ],
)
async def test_invalid_request_status(
    start_server: StartServer, request_line: bytes, status: int
) -> None:
    server = await start_server()
    response = await fetch(server.port, request_line)
    assert response.status == status
    assert response.close_notify


async def test_request_without_crlf_is_59_when_the_request_time_runs_out(
    start_server: StartServer,
) -> None:
    server = await start_server(limits=LimitSettings(request_timeout=0.3, requests_per_second=0))
    tls = await open_tls(server.port)
    await tls.send_all(b"gemini://localhost/")
    with trio.fail_after(5):
        response = await read_response(tls)
    assert response.status == 59


# --- the root's boundary ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.gmi",
        "/docs/../../secret.gmi",
        "/%2e%2e/secret.gmi",
        "/%2E%2E%2Fsecret.gmi",
        "/docs/..%2f..%2fsecret.gmi",
        "/./../secret.gmi",
        "/%2e%2e%2f%2e%2e%2fsecret.gmi",
        "/link-out/secret.gmi",
        "/escape.gmi",
    ],
)
async def test_traversal_never_reaches_outside_the_root(
    start_server: StartServer, capsule_root: Path, path: str
) -> None:
    (capsule_root.parent / "secret.gmi").write_text("TOP SECRET\n")
    (capsule_root / "link-out").symlink_to(capsule_root.parent)
    (capsule_root / "escape.gmi").symlink_to(capsule_root.parent / "secret.gmi")
    server = await start_server()
    response = await fetch(server.port, "gemini://localhost" + path)
    assert b"TOP SECRET" not in response.body
    assert response.status in (51, 59)


# --- TLS ----------------------------------------------------------------------------------------


async def test_every_response_ends_with_close_notify(start_server: StartServer) -> None:
    server = await start_server()
    for url in ("gemini://localhost/", "gemini://localhost/nope", "gemini://other/"):
        response = await fetch(server.port, url)
        assert response.close_notify, url


async def test_tls_1_1_client_is_refused(start_server: StartServer) -> None:
    server = await start_server()
    tcp = await trio.open_tcp_stream("127.0.0.1", server.port)
    tls = trio.SSLStream(
        tcp, client_context(maximum=ssl.TLSVersion.TLSv1_1), server_hostname="localhost"
    )
    with pytest.raises(trio.BrokenResourceError):
        await tls.do_handshake()
    await trio.aclose_forcefully(tls)


async def test_tls_1_2_client_is_served(start_server: StartServer) -> None:
    server = await start_server()
    tcp = await trio.open_tcp_stream("127.0.0.1", server.port)
    context = client_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    tls = trio.SSLStream(tcp, context, server_hostname="localhost")
    await tls.do_handshake()
    await tls.send_all(b"gemini://localhost/\r\n")
    assert (await read_response(tls)).status == 20


async def test_sni_picks_each_hosts_certificate_and_root(
    start_server: StartServer, tmp_path: Path
) -> None:
    other_root = tmp_path / "other"
    other_root.mkdir()
    (other_root / "index.gmi").write_text("# Other site\n")
    server = await start_server(
        hosts=(HostConfig("a.example"), HostConfig("b.example", root=other_root))
    )
    state = server.config.state_dir / "certs"
    a = await fetch(server.port, "gemini://a.example/", server_name="a.example")
    b = await fetch(server.port, "gemini://b.example/", server_name="b.example")
    assert a.body == b"# Welcome\n=> docs/ Docs\n"
    assert b.body == b"# Other site\n"
    for response, host in ((a, "a.example"), (b, "b.example")):
        expected = certificate_fingerprint(read_certificate(state / host / "cert.pem"))
        assert response.peer_certificate is not None
        seen = certificate_fingerprint(x509.load_der_x509_certificate(response.peer_certificate))
        assert seen == expected, host


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback")
async def test_ipv6_loopback_is_served(start_server: StartServer) -> None:
    server = await start_server(address="::1")
    response = await fetch(server.port, "gemini://[::1]/", address="::1")
    assert response.status == 20


# --- limits and hostile clients ----------------------------------------------------------------


async def test_slowloris_client_is_dropped(start_server: StartServer) -> None:
    server = await start_server(limits=LimitSettings(request_timeout=0.5, requests_per_second=0))
    tls = await open_tls(server.port)
    with trio.fail_after(5):
        with pytest.raises((trio.BrokenResourceError, trio.ClosedResourceError)):
            for byte in b"gemini://localhost/" * 100:
                await tls.send_all(bytes([byte]))
                await trio.sleep(0.05)
    await trio.aclose_forcefully(tls)
    assert (await fetch(server.port, "gemini://localhost/")).status == 20


async def test_client_that_never_handshakes_is_dropped(start_server: StartServer) -> None:
    server = await start_server(limits=LimitSettings(request_timeout=0.3, requests_per_second=0))
    tcp = await trio.open_tcp_stream("127.0.0.1", server.port)
    with trio.fail_after(5):
        assert await tcp.receive_some(1024) == b""
    await tcp.aclose()


async def test_a_megabyte_of_garbage_is_refused_and_others_are_served(
    start_server: StartServer,
) -> None:
    server = await start_server()
    garbage = os.urandom(1024 * 1024)
    tcp = await trio.open_tcp_stream("127.0.0.1", server.port)
    with trio.fail_after(10):
        try:
            await tcp.send_all(garbage)
            while await tcp.receive_some(65536):
                pass
        except trio.BrokenResourceError:
            pass
    await trio.aclose_forcefully(tcp)
    assert (await fetch(server.port, "gemini://localhost/")).status == 20


async def test_a_megabyte_inside_tls_is_refused_and_others_are_served(
    start_server: StartServer,
) -> None:
    server = await start_server()
    tls = await open_tls(server.port)
    with trio.fail_after(10):
        try:
            await tls.send_all(b"x" * 1024 * 1024)
            header = (await read_response(tls)).header
        except trio.BrokenResourceError:
            header = b""  # the server closed with our unread bytes queued: a reset is fine too
        while server.server.gate.total:
            await trio.sleep(0.01)
    assert header in (b"", b"59 Request longer than 1024 bytes")
    assert (await fetch(server.port, "gemini://localhost/")).status == 20


async def test_client_disconnecting_mid_response_frees_its_slot(
    start_server: StartServer, capsule_root: Path
) -> None:
    (capsule_root / "big.bin").write_bytes(b"\0" * (32 * 1024 * 1024))
    server = await start_server()
    tls = await open_tls(server.port)
    await tls.send_all(b"gemini://localhost/big.bin\r\n")
    assert await tls.receive_some(1024)
    await trio.aclose_forcefully(tls)
    with trio.fail_after(10):
        while server.server.gate.total:
            await trio.testing.wait_all_tasks_blocked()
    assert (await fetch(server.port, "gemini://localhost/")).status == 20


async def test_exchange_deadline_cuts_off_a_client_that_never_reads(
    start_server: StartServer, capsule_root: Path
) -> None:
    (capsule_root / "big.bin").write_bytes(b"\0" * (32 * 1024 * 1024))
    server = await start_server(limits=LimitSettings(exchange_timeout=0.5, requests_per_second=0))
    tls = await open_tls(server.port)
    await tls.send_all(b"gemini://localhost/big.bin\r\n")
    with trio.fail_after(10):
        while server.server.gate.total:
            await trio.sleep(0.05)
    received = 0
    with trio.fail_after(10):
        try:
            while chunk := await tls.receive_some(1 << 20):
                received += len(chunk)
        except trio.BrokenResourceError:
            pass
    assert received < 32 * 1024 * 1024
    await trio.aclose_forcefully(tls)


async def test_rate_limit_answers_44_with_bare_seconds(start_server: StartServer) -> None:
    server = await start_server(limits=LimitSettings(requests_per_second=0.5, request_burst=2))
    statuses = [(await fetch(server.port, "gemini://localhost/")) for _ in range(3)]
    assert [response.status for response in statuses] == [20, 20, 44]
    assert statuses[2].meta.isdigit() and int(statuses[2].meta) >= 1


async def test_connections_beyond_the_per_client_cap_are_closed(
    start_server: StartServer,
) -> None:
    limits = LimitSettings(max_connections_per_ip=1, requests_per_second=0)
    server = await start_server(limits=limits)
    holder = await open_tls(server.port)
    tcp = await trio.open_tcp_stream("127.0.0.1", server.port)
    with trio.fail_after(5):
        with contextlib.suppress(trio.BrokenResourceError):
            assert await tcp.receive_some(1024) == b""
    await tcp.aclose()
    await holder.send_all(b"gemini://localhost/\r\n")
    assert (await read_response(holder)).status == 20


async def test_shutdown_lets_an_in_flight_request_finish(start_server: StartServer) -> None:
    server = await start_server()
    tls = await open_tls(server.port)
    await tls.send_all(b"gemini://localhost/")
    server.shutdown.set()
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(OSError):
        await trio.open_tcp_stream("127.0.0.1", server.port)
    await tls.send_all(b"\r\n")
    assert (await read_response(tls)).status == 20
