"""mTLS for real: the API and a worker reach Temporal only through a TLS terminator that
demands a client certificate, configured by nothing but ``OPENRUNS_TEMPORAL_TLS_*``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from openruns.settings import Settings
from openruns.store import Database
from openruns.temporal import connect
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.tls import MtlsTerminator, Pki
from worker import worker_for

HELLO = {
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello over mTLS"}}],
    "outputs": {"greeting": "{{ steps.greet.text }}"},
}


@pytest.fixture
def pki() -> Pki:
    return Pki.create()


@pytest.fixture
async def terminator(pki: Pki, client: Client, tmp_path: Path) -> AsyncIterator[MtlsTerminator]:
    (tmp_path / "pki").mkdir()
    upstream = client.service_client.config.target_host
    async with MtlsTerminator(pki, tmp_path / "pki", upstream) as running:
        yield running


@pytest.fixture
def settings(settings: Settings, terminator: MtlsTerminator, pki: Pki, tmp_path: Path) -> Settings:
    """The test's settings, but Temporal only over mTLS (files for cert and CA, key as text)."""
    return settings.model_copy(
        update={
            "temporal_address": terminator.address,
            "temporal_tls_cert": str(tmp_path / "pki" / "client.pem"),
            "temporal_tls_key": SecretStr(pki.client.key.decode()),
            "temporal_tls_ca": str(tmp_path / "pki" / "ca.pem"),
            "temporal_tls_server_name": pki.server_name,
        }
    )


async def test_api_and_worker_run_a_process_over_mtls(
    settings: Settings, database: Database, api: httpx.AsyncClient, terminator: MtlsTerminator
) -> None:
    async with worker_for(await connect(settings), settings, database):
        process = await create_process(api, HELLO)
        run = await start_run(api, process["id"])
        finished = await wait_for_state(api, run["id"])
    assert finished["state"] == "Succeeded", finished
    assert finished["outputs"] == {"greeting": "hello over mTLS"}
    assert (await api.get("/v2/health")).json() == {"status": "OK"}
    assert terminator.accepted and set(terminator.accepted) == {"openruns-worker"}


async def test_without_a_client_certificate_the_server_refuses(
    settings: Settings, terminator: MtlsTerminator
) -> None:
    no_cert = settings.model_copy(update={"temporal_tls_cert": None, "temporal_tls_key": None})
    with pytest.raises(RuntimeError, match="connect"):
        await connect(no_cert)
    assert terminator.accepted == []


async def test_a_certificate_for_another_name_is_refused(
    settings: Settings, terminator: MtlsTerminator
) -> None:
    """The server certificate names temporal.openruns.test, not the 127.0.0.1 being dialed."""
    unnamed = settings.model_copy(update={"temporal_tls_server_name": None})
    with pytest.raises(RuntimeError, match="connect"):
        await connect(unnamed)
    assert terminator.accepted == []


async def test_a_server_signed_by_an_unknown_ca_is_refused(
    settings: Settings, terminator: MtlsTerminator
) -> None:
    stranger = Pki.create()
    other_ca = settings.model_copy(update={"temporal_tls_ca": stranger.ca.cert.decode()})
    with pytest.raises(RuntimeError, match="connect"):
        await connect(other_ca)
    assert terminator.accepted == []
