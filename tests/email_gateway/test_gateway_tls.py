"""STARTTLS: the certificate and key are loaded once, when the gateway starts; files that cannot
be loaded stop it with a message naming them (they used to fail every connection instead)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from pathlib import Path

import pytest
from temporalio.client import Client

from email_gateway.server import Gateway
from openruns.settings import ConfigError, Settings
from openruns.store import Database
from tests.helpers.tls import Pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.create(server_name="localhost")


def _starttls_noop(port: int) -> int:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.starttls(context=context)
        return smtp.noop()[0]


async def test_the_certificate_is_loaded_once_at_start(
    settings: Settings, database: Database, client: Client, pki: Pki, tmp_path: Path
) -> None:
    paths = pki.write(tmp_path)
    settings.smtp_tls_cert, settings.smtp_tls_key = paths["server.pem"], paths["server.key"]
    async with Gateway(settings, database, client, host="127.0.0.1", port=0) as gateway:
        paths["server.pem"].unlink()  # renewed under a running gateway, say: it keeps its own
        paths["server.key"].unlink()
        for _ in range(2):
            assert await asyncio.to_thread(_starttls_noop, gateway.port) == 250


@pytest.mark.parametrize(
    ("cert", "key", "message"),
    [
        ("missing.pem", "server.key", "OPENRUNS_SMTP_TLS_CERT: cannot read '{cert}': No such file"),
        ("server.pem", "missing.key", "OPENRUNS_SMTP_TLS_KEY: cannot read '{key}': No such file"),
        ("server.key", "server.key", "OPENRUNS_SMTP_TLS_CERT: '{cert}' holds no PEM certificate"),
        (
            "server.pem",
            "client.key",
            "OPENRUNS_SMTP_TLS_KEY: '{key}' is not the unencrypted PEM private key of '{cert}'",
        ),
    ],
    ids=["no cert", "no key", "not a cert", "another key"],
)
async def test_files_that_cannot_be_loaded_stop_the_gateway(
    settings: Settings,
    database: Database,
    client: Client,
    pki: Pki,
    tmp_path: Path,
    cert: str,
    key: str,
    message: str,
) -> None:
    pki.write(tmp_path)
    settings.smtp_tls_cert, settings.smtp_tls_key = tmp_path / cert, tmp_path / key
    expected = message.format(cert=tmp_path / cert, key=tmp_path / key)
    with pytest.raises(ConfigError) as refused:
        Gateway(settings, database, client, host="127.0.0.1", port=0)
    assert str(refused.value).startswith(expected), refused.value
