"""Where certificate files live: one layout for the state directory, one for a cert directory."""

from pathlib import Path

from certs import CertificateFiles, ensure_identity, operator_files, self_signed_files


def test_self_signed_files_live_under_state_certs_host() -> None:
    assert self_signed_files(Path("/var/lib/capsule"), "example.org") == CertificateFiles(
        Path("/var/lib/capsule/certs/example.org/cert.pem"),
        Path("/var/lib/capsule/certs/example.org/key.pem"),
    )


def test_operator_files_live_under_cert_dir_host() -> None:
    assert operator_files(Path("/etc/capsule/certs"), "example.org") == CertificateFiles(
        Path("/etc/capsule/certs/example.org/cert.pem"),
        Path("/etc/capsule/certs/example.org/key.pem"),
    )


def test_both_files_share_one_directory() -> None:
    files = operator_files(Path("/certs"), "example.org")
    assert files.directory == Path("/certs/example.org") == files.key.parent


def test_ensure_identity_writes_the_self_signed_layout(tmp_path: Path) -> None:
    identity = ensure_identity("example.org", tmp_path)
    files = self_signed_files(tmp_path, "example.org")
    assert (identity.cert_path, identity.key_path) == (files.cert, files.key)
    assert files.cert.is_file() and files.key.is_file()
