"""Temporal unreachable: schedule endpoints answer 503, publishing says its schedules were not
updated, and deleting a process deletes nothing (its schedules could not be removed)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from api import create_app
from openruns.settings import Settings
from tests.helpers import free_port
from tests.helpers.api import create_process


async def test_temporal_down(tmp_path: Path) -> None:
    key = f"ork_{uuid.uuid4().hex}"
    settings = Settings(data_dir=tmp_path, temporal_address=f"127.0.0.1:{free_port()}", api_key=key)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers={"x-api-key": key}
        ) as api:
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
