"""Temporal unreachable: the API answers 503 with a clear message and creates nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from api import create_app
from openruns.settings import Settings
from openruns.store import Database
from openruns.store.tables import IdempotencyKeyRow
from tests.helpers import free_port
from tests.helpers.api import create_process


async def test_temporal_down_is_503_and_nothing_half_created(tmp_path: Path) -> None:
    key = f"ork_{uuid.uuid4().hex}"
    settings = Settings(data_dir=tmp_path, temporal_address=f"127.0.0.1:{free_port()}", api_key=key)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers={"x-api-key": key}
        ) as api:
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

            listing = await api.get("/v2/runs")
            assert listing.status_code == 503

    database = Database.from_settings(settings)
    try:
        async with database.session() as session:
            # The key is held for the retry, which starts the very same run id.
            claims = await session.scalar(select(func.count()).select_from(IdempotencyKeyRow))
            assert claims == 1
    finally:
        await database.dispose()
