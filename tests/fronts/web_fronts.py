"""Real nginx and Caddy in front of the mirror, each running the shipped example, and a test CA
for their certificates."""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.programs import free_port, required_program, stop_process

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NGINX_EXAMPLE = EXAMPLES / "nginx.conf"
NGINX_STATIC_EXAMPLE = EXAMPLES / "nginx-static.conf"
CADDY_EXAMPLE = EXAMPLES / "Caddyfile"
"""The files the README shows; the tests run them, so the two cannot drift."""
EXAMPLE_UPSTREAM = "127.0.0.1:8080"
EXAMPLE_NAME = "example.org"


def executable(name: str, package: str) -> str:
    """A front's executable; a missing one skips locally and fails in CI."""
    return required_program((name,), package, "web front tests")


@dataclass(frozen=True)
class TestAuthority:
    """A certificate authority made for one test run, and a server certificate it signed for
    `localhost` and 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path

    __test__ = False  # not a test class, whatever pytest makes of its name

    @classmethod
    def create(cls, directory: Path) -> TestAuthority:
        now = datetime.now(UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "capsule test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        authority = cls(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
        authority.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        authority.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        authority.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return authority

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only this authority."""
        return ssl.create_default_context(cafile=str(self.ca))


class Front:
    """A web front process on loopback, run in the foreground and stopped by its PID."""

    name = "front"
    https_port: int
    http_port: int
    """The plain-HTTP port, which redirects to HTTPS."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log_path = directory / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def __enter__(self) -> Front:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.environment()
            )
        try:
            self._wait_for_port(self.https_port)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Signal the front by its PID and wait for it to exit."""
        assert self.process is not None
        stop_process(self.process)

    def _wait_for_port(self, port: int) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"{self.name} did not start:\n" + self.log_path.read_text()
                    ) from None
                time.sleep(0.05)


class Nginx(Front):
    """nginx with its own prefix, pid file and error log in `directory`, running an example
    site with loopback ports, the test certificate, and the mirror's port or the export's
    directory filled in."""

    name = "nginx"

    def __init__(
        self,
        directory: Path,
        mirror_port: int,
        authority: TestAuthority,
        example: Path = NGINX_EXAMPLE,
        site_root: Path | None = None,
    ) -> None:
        super().__init__(directory)
        self.executable = executable("nginx", "nginx")
        self.https_port, self.http_port = free_port(), free_port()
        site = (
            example.read_text()
            .replace(EXAMPLE_UPSTREAM, f"127.0.0.1:{mirror_port}")
            .replace("listen [::]:443 ssl", f"listen [::1]:{self.https_port} ssl")
            .replace("listen 443 ssl", f"listen 127.0.0.1:{self.https_port} ssl")
            .replace("listen [::]:80;", f"listen [::1]:{self.http_port};")
            .replace("listen 80;", f"listen 127.0.0.1:{self.http_port};")
            .replace("server_name example.org;", "server_name localhost;")
            .replace("/etc/letsencrypt/live/example.org/fullchain.pem", str(authority.cert))
            .replace("/etc/letsencrypt/live/example.org/privkey.pem", str(authority.key))
            .replace("root /srv/capsule-site;", f"root {site_root};")
        )
        (directory / "site.conf").write_text(site)
        temp = directory / "temp"
        temp.mkdir()
        # Workers run as the test's user, so they can write the temporary files of large
        # responses; as root nginx would switch them to nobody.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        self.config = directory / "nginx.conf"
        self.config.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\n"
            f"error_log {directory}/error.log info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    access_log {directory}/access.log;\n"
            + "".join(
                f"    {kind}_temp_path {temp}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {directory}/site.conf;\n"
            "}\n"
        )

    def command(self) -> list[str]:
        return [self.executable, "-p", str(self.directory), "-c", str(self.config)]


class Caddy(Front):
    """Caddy running the example Caddyfile for `localhost` on a loopback port, with the test
    certificate instead of one from ACME, and its storage and admin socket in `directory`."""

    name = "caddy"

    def __init__(self, directory: Path, mirror_port: int, authority: TestAuthority) -> None:
        super().__init__(directory)
        self.executable = executable("caddy", "caddy")
        self.https_port, self.http_port = free_port(), free_port()
        site = (
            CADDY_EXAMPLE.read_text()
            .replace(EXAMPLE_UPSTREAM, f"127.0.0.1:{mirror_port}")
            .replace(
                f"{EXAMPLE_NAME} {{",
                f"localhost {{\n\tbind 127.0.0.1\n\ttls {authority.cert} {authority.key}",
            )
        )
        # Automatic HTTPS as in production (the redirect from HTTP included), but the
        # certificate comes from the test CA instead of ACME.
        self.config = directory / "Caddyfile"
        self.config.write_text(
            f"{{\n\tadmin unix/{directory}/admin.sock\n\tauto_https disable_certs\n"
            f"\thttp_port {self.http_port}\n\thttps_port {self.https_port}\n"
            f"\tstorage file_system {directory}/storage\n}}\n\n" + site
        )

    def command(self) -> list[str]:
        return [self.executable, "run", "--adapter", "caddyfile", "--config", str(self.config)]

    def environment(self) -> dict[str, str]:
        home = self.directory / "home"
        return {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
                "XDG_CONFIG_HOME": str(home / "config")}
