"""Schedule factories and probes over the HTTP API, plus clean-up of a test's schedules."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.service import RPCError


async def create_schedule(api: httpx.AsyncClient, process_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(f"/v2/processes/{process_id}/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def get_schedule(api: httpx.AsyncClient, schedule_id: str) -> dict[str, Any]:
    response = await api.get(f"/v2/schedules/{schedule_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def patch_schedule(api: httpx.AsyncClient, schedule_id: str, **body: Any) -> dict[str, Any]:
    response = await api.patch(f"/v2/schedules/{schedule_id}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def scheduled_runs(api: httpx.AsyncClient, schedule_id: str) -> list[dict[str, Any]]:
    """Every run the schedule started, as ``GET /v2/runs?trigger=schedule`` lists them."""
    response = await api.get(
        "/v2/runs", params={"trigger": "schedule", "schedule_id": schedule_id, "limit": 100}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def delete_schedules_on(client: Client, task_queue: str) -> None:
    """Delete every schedule whose runs go to ``task_queue`` (this test's queue)."""
    async for listed in await client.list_schedules():
        handle = client.get_schedule_handle(listed.id)
        try:
            action = (await handle.describe()).schedule.action
            if isinstance(action, ScheduleActionStartWorkflow) and action.task_queue == task_queue:
                await handle.delete()
        except RPCError:
            pass  # already gone
