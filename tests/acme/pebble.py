"""Pebble, Let's Encrypt's ACME test server, as real processes on loopback for the ACME tests.

Pebble validates http-01 challenges by resolving the host name and fetching
`http://NAME:HTTP_PORT/.well-known/acme-challenge/TOKEN`; its companion `pebble-challtestsrv`
(Debian ships both in the `pebble` package) answers its DNS queries with 127.0.0.1 for every
name, so the names under test need no /etc/hosts entries.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from certs import create_self_signed
from tests.programs import free_port, required_program, stop_process


def pebble_executables() -> tuple[str, str]:
    """pebble and pebble-challtestsrv; missing ones skip locally and fail in CI."""
    return (
        required_program(("pebble",), "pebble", "ACME tests"),
        required_program(("pebble-challtestsrv",), "pebble", "ACME tests"),
    )


class Pebble:
    """An ACME server validating http-01 on `http_port`, its DNS answering 127.0.0.1.

    `validity` is the lifetime, in seconds, of the certificates it issues.
    """

    def __init__(self, directory: Path, http_port: int, validity: int) -> None:
        self.directory = directory
        self.http_port = http_port
        self.validity = validity
        self.acme_port = free_port()
        self.management_port = free_port()
        self.dns_port = free_port()
        self.ca_bundle = directory / "pebble-https.pem"
        """The certificate of Pebble's own HTTPS endpoints, for the ACME client to trust."""
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def directory_url(self) -> str:
        """The ACME directory URL."""
        return f"https://localhost:{self.acme_port}/dir"

    def __enter__(self) -> Pebble:
        pebble, dns = pebble_executables()
        key = self.directory / "pebble-https.key"
        create_self_signed(["localhost"], self.ca_bundle, key)
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.acme_port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(self.ca_bundle),
                "privateKey": str(key),
                "httpPort": self.http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                "certificateValidityPeriod": self.validity,
            }
        }
        config_path = self.directory / "pebble-config.json"
        config_path.write_text(json.dumps(config))
        try:
            self._start(
                [
                    dns,
                    *("-dns01", f"127.0.0.1:{self.dns_port}"),
                    *("-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""),
                    *("-http01", "", "-https01", "", "-tlsalpn01", ""),
                    *("-management", f"127.0.0.1:{free_port()}"),
                ],
                "Starting management server",
                os.environ,
            )
            # Every order is validated afresh (no reused authorisations), and no good nonce is
            # refused: the tests see real validations, deterministically.
            environ = {
                **os.environ,
                "PEBBLE_VA_NOSLEEP": "1",
                "PEBBLE_WFE_NONCEREJECT": "0",
                "PEBBLE_AUTHZREUSE": "0",
            }
            self._start(
                [pebble, "-config", str(config_path), "-dnsserver", f"127.0.0.1:{self.dns_port}"],
                "ACME directory available",
                environ,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self, command: list[str], ready: str, environ: Mapping[str, str]) -> None:
        """Start a process and wait for the line saying it listens; its output goes on to
        the log file."""
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environ, text=True
        )
        self._processes.append(process)
        assert process.stdout is not None
        log = (self.directory / "pebble.log").open("a")
        for line in process.stdout:
            log.write(line)
            if ready in line:
                break
        else:
            log.close()
            text = (self.directory / "pebble.log").read_text()
            raise RuntimeError(f"{command[0]} exited:\n{text}")
        threading.Thread(target=_copy, args=(process.stdout, log), daemon=True).start()

    def root_certificate(self) -> bytes:
        """The root that issued every certificate of this run (drawn anew at each start)."""
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        url = f"https://localhost:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            return bytes(response.read())

    def stop(self) -> None:
        """Stop both processes by their PIDs."""
        for process in self._processes:
            stop_process(process)


def _copy(lines: IO[str], log: IO[str]) -> None:
    with log:
        for line in lines:
            log.write(line)
            log.flush()
