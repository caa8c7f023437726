"""Temporal unreachable: the API answers 503 with a clear message and creates nothing; schedule
endpoints answer 503, publishing says its schedules were not updated, and deleting a process
deletes nothing (its schedules could not be removed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from openruns.settings import Settings
from openruns.store import Database
from openruns.store.tables import IdempotencyKeyRow
from tests.helpers import free_port
from tests.helpers.api import create_process
from tests.helpers.apps import api_client


@pytest.fixture
def settings_without_temporal(tmp_path: Path) -> Settings:
    """Settings whose Temporal address nothing listens on."""
    address = f"127.0.0.1:{free_port()}"
    return Settings(data_dir=tmp_path, temporal_address=address, api_key=f"ork_{uuid.uuid4().hex}")


@pytest.fixture
async def api(settings_without_temporal: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings_without_temporal) as client:
        yield client


async def test_runs_are_503_and_nothing_half_created(
    api: httpx.AsyncClient, settings_without_temporal: Settings
) -> None:
    health = await api.get("/v2/health")
    assert health.status_code == 503
    assert "temporal" in health.json()["message"]

    process = await create_process(api, {"outputs": {"a": 1}})  # metadata still works
    response = await api.post(
        "/v2/runs",
        json={"process_id": process["id"], "stage": "Draft"},
        headers={"Idempotency-Key": "k1"},
    )
    assert response.status_code == 503
    assert response.json()["message"].startswith("Temporal is unavailable")
    assert (await api.get("/v2/runs")).status_code == 503

    database = Database.from_settings(settings_without_temporal)
    try:
        async with database.session() as session:
            # The key is held for the retry, which starts the very same run id.
            claims = await session.scalar(select(func.count()).select_from(IdempotencyKeyRow))
            assert claims == 1
    finally:
        await database.dispose()


async def test_schedules_publish_and_delete_are_503(api: httpx.AsyncClient) -> None:
    process = await create_process(api, {"outputs": {"a": 1}})
    published = await api.post(f"/v2/processes/{process['id']}/publish")
    assert published.status_code == 503
    assert "publish again" in published.json()["message"]
    read = await api.get(f"/v2/processes/{process['id']}")
    assert read.json()["published_revision"] == 1  # the publish itself happened

    schedules = f"/v2/processes/{process['id']}/schedules"
    created = await api.post(schedules, json={"interval_seconds": 60})
    assert created.status_code == 503
    assert (await api.get(schedules)).status_code == 503

    deleted = await api.delete(f"/v2/processes/{process['id']}")
    assert deleted.status_code == 503
    assert (await api.get(f"/v2/processes/{process['id']}")).status_code == 200
