"""The Temporal connection settings turn into the right ``Client.connect`` arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.service import TLSConfig

from openruns.settings import Settings
from openruns.temporal import connect_options
from tests.helpers.tls import Pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.create()


def test_plain_by_default() -> None:
    options = connect_options(Settings(temporal_address="temporal:7233", namespace="prod"))
    assert options["target_host"] == "temporal:7233"
    assert options["namespace"] == "prod"
    assert options["tls"] is False
    assert options["api_key"] is None


def test_temporal_cloud_api_key_means_tls_with_system_roots() -> None:
    settings = Settings(
        temporal_address="prod.a1b2c.tmprl.cloud:7233", temporal_api_key="cloud-key-123"
    )
    options = connect_options(settings)
    assert options["tls"] is True
    assert options["api_key"] == "cloud-key-123"
    assert "cloud-key-123" not in repr(settings)  # a secret, never logged


def test_mtls_from_files(pki: Pki, tmp_path: Path) -> None:
    paths = pki.write(tmp_path)
    settings = Settings(
        temporal_tls_cert=str(paths["client.pem"]),
        temporal_tls_key=str(paths["client.key"]),
        temporal_tls_ca=str(paths["ca.pem"]),
        temporal_tls_server_name=pki.server_name,
    )
    assert connect_options(settings)["tls"] == TLSConfig(
        server_root_ca_cert=pki.ca.cert,
        domain=pki.server_name,
        client_cert=pki.client.cert,
        client_private_key=pki.client.key,
    )


def test_pem_text_works_as_well_as_a_path(pki: Pki) -> None:
    settings = Settings(
        temporal_tls_cert=pki.client.cert.decode(), temporal_tls_key=pki.client.key.decode()
    )
    tls = connect_options(settings)["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key) == (pki.client.cert, pki.client.key)
    assert tls.server_root_ca_cert is None  # the system roots check the server


def test_a_private_ca_alone_turns_tls_on(pki: Pki) -> None:
    tls = connect_options(Settings(temporal_tls_ca=pki.ca.cert.decode()))["tls"]
    assert isinstance(tls, TLSConfig) and tls.server_root_ca_cert == pki.ca.cert


def test_tls_can_be_forced_off_or_on() -> None:
    assert connect_options(Settings(temporal_tls=True))["tls"] is True
    off = connect_options(Settings(temporal_tls=False, temporal_api_key="k"))
    assert (off["tls"], off["api_key"]) == (False, "k")


def test_certificate_without_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="OPENRUNS_TEMPORAL_TLS_KEY go together"):
        Settings(temporal_tls_cert="/etc/openruns/client.pem")


def test_unreadable_file_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(temporal_tls_ca=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match=r"OPENRUNS_TEMPORAL_TLS_CA: cannot read .*missing\.pem"):
        connect_options(settings)


def test_from_the_environment_empty_means_unset(
    monkeypatch: pytest.MonkeyPatch, pki: Pki, tmp_path: Path
) -> None:
    """docker-compose.yml passes every TLS variable as ``${VAR:-}``: empty ones are unset."""
    paths = pki.write(tmp_path)
    for name in ("CERT", "KEY", "SERVER_NAME"):
        monkeypatch.setenv(f"OPENRUNS_TEMPORAL_TLS_{name}", "")
    monkeypatch.setenv("OPENRUNS_TEMPORAL_API_KEY", "")
    monkeypatch.setenv("OPENRUNS_TEMPORAL_TLS_CA", str(paths["ca.pem"]))
    monkeypatch.setenv("OPENRUNS_TEMPORAL_ADDRESS", "temporal.internal:7233")
    options = connect_options(Settings())
    assert options["target_host"] == "temporal.internal:7233"
    assert options["api_key"] is None
    assert options["tls"] == TLSConfig(server_root_ca_cert=pki.ca.cert)
