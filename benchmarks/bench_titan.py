"""Titan upload benchmark: throughput and server CPU for uploads of one size.

Starts `capsule serve` pinned to core 0 with a `[[titan]]` table for a fresh client
certificate, uploads `--count` files of `--size-kb` KiB over TLS from this process (a blocking
stdlib client, one connection per upload, each file replacing the last so a version is kept
each time), and prints per-upload latency (p50, max), throughput in MB/s, and the server's CPU
milliseconds per upload. Usage: python benchmarks/bench_titan.py [--size-kb 1024] [--count 20]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import socket
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).parent))

from bench_gemini import start_capsule


def make_identity(directory: Path) -> tuple[Path, Path, str]:
    """A self-signed client certificate and key; its `sha256:` fingerprint."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert, key_file = directory / "bench.crt", directory / "bench.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    der = certificate.public_bytes(serialization.Encoding.DER)
    return cert, key_file, "sha256:" + hashlib.sha256(der).hexdigest()


def cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def upload(port: int, context: ssl.SSLContext, body: bytes) -> bytes:
    line = f"titan://localhost:{port}/files/blob.bin;size={len(body)}\r\n".encode()
    raw = socket.create_connection(("127.0.0.1", port))
    # As Gemini clients do: without it, Nagle holds the request back behind the handshake.
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(line + body)
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-kb", type=int, default=1024)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    body = os.urandom(args.size_kb * 1024)
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        root = base / "root"
        (root / "files").mkdir(parents=True)
        (root / "index.gmi").write_text("# Uploads\n")
        cert, key, fingerprint = make_identity(base)
        config = base / "capsule.toml"
        config.write_text(
            f'[[titan]]\npaths = ["/files/"]\nidentities = ["{fingerprint}"]\n'
            f"max_bytes = {len(body)}\n"
        )
        extra = ("--config", str(config), "--requests-per-second", "0", "--no-index")
        process, port = start_capsule(root, base / "state", extra)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.load_cert_chain(cert, key)
        try:
            latencies = []
            before = cpu_ms(process.pid)
            for _ in range(args.count):
                started = time.perf_counter()
                answer = upload(port, context, body)
                latencies.append(time.perf_counter() - started)
                assert answer.startswith(b"30 "), answer
            spent = cpu_ms(process.pid) - before
        finally:
            process.terminate()
            process.wait()
    megabytes = len(body) / 1e6
    p50, slowest = statistics.median(latencies) * 1000, max(latencies) * 1000
    print(
        f"{args.count} uploads of {args.size_kb} KiB: p50 {p50:.1f} ms, max {slowest:.1f} ms, "
        f"{megabytes * args.count / sum(latencies):.1f} MB/s, "
        f"server CPU {spent / args.count:.1f} ms per upload"
    )


if __name__ == "__main__":
    main()
