"""The `capsule` command's first step: what OpenSSL must know before it is first loaded."""

from __future__ import annotations

import os
from importlib.resources import files

OPENSSL_CONF = "OPENSSL_CONF"


def main() -> int:
    """Point OpenSSL at capsule's settings (unless the operator chose a file), then run."""
    os.environ.setdefault(OPENSSL_CONF, str(files("server.daemon").joinpath("openssl.cnf")))
    # Imported only now: OpenSSL reads OPENSSL_CONF once, when cryptography first loads it.
    from server.daemon.cli import main as run_command

    return run_command()
