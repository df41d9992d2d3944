"""The [https] settings: HTTPS needs the mirror, ACME needs HTTPS, and URLs are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings.config import LETS_ENCRYPT, ConfigError, ListenAddress
from tests.server.settings.test_settings import config_from


def test_https_is_off_and_acme_points_at_lets_encrypt_by_default(tmp_path: Path) -> None:
    https = config_from(tmp_path, "").https
    assert https.listen == () and https.acme_email is None and https.hsts_max_age == 0
    assert https.acme_directory == LETS_ENCRYPT


def test_flags_set_https(tmp_path: Path) -> None:
    https = config_from(
        tmp_path,
        "",
        *("--https", "0.0.0.0:443", "--https", "[::]:443", "--hsts-max-age", "31536000"),
        *("--acme-email", "webmaster@example.org", "--acme-ca-bundle", "/etc/ca.pem"),
    ).https
    assert https.listen == (ListenAddress("0.0.0.0", 443), ListenAddress("::", 443))
    assert https.hsts_max_age == 31536000
    assert https.acme_email == "webmaster@example.org"
    assert https.acme_ca_bundle == Path("/etc/ca.pem")


@pytest.mark.parametrize(
    ("toml", "flags", "message"),
    [
        ("", ("--acme-email", "webmaster@example.org"), r"https.acme_email .* needs https.listen"),
        ("", ("--https", ":443", "--acme-email", "webmaster"), "is not an email address"),
        ("", ("--https", ":443", "--no-http"), r"https.listen .* needs the mirror"),
        ("[https]\nacme_directory = 'http://ca.example/dir'", (), "is not an https URL"),
        ("[https]\nhsts_max_age = -1", (), "must be 0 or more"),
    ],
)
def test_inconsistent_https_settings_are_refused_by_key(
    tmp_path: Path, toml: str, flags: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from(tmp_path, toml, *flags)
