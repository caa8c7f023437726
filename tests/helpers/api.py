"""Factories over the HTTP API, used like a client would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.helpers import assert_eventually

FINAL_STATES = {"Succeeded", "Failed", "Cancelled", "TimedOut"}


async def create_process(
    api: httpx.AsyncClient,
    definition: dict[str, Any] | str,
    *,
    publish: bool = False,
    name: str = "",
) -> dict[str, Any]:
    response = await api.post(
        "/v2/processes",
        json={"name": name or f"process-{uuid.uuid4().hex[:8]}", "definition": definition},
    )
    assert response.status_code == 201, response.text
    process = response.json()
    if publish:
        response = await api.post(f"/v2/processes/{process['id']}/publish")
        assert response.status_code == 200, response.text
        process = response.json()
    return process


async def start_run(
    api: httpx.AsyncClient, process_id: str, stage: str = "Draft", **body: Any
) -> dict[str, Any]:
    response = await api.post("/v2/runs", json={"process_id": process_id, "stage": stage, **body})
    assert response.status_code == 201, response.text
    return response.json()


async def get_run(api: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    response = await api.get(f"/v2/runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for_state(
    api: httpx.AsyncClient, run_id: str, states: set[str] | str = FINAL_STATES, timeout: float = 30
) -> dict[str, Any]:
    wanted = {states} if isinstance(states, str) else states
    return await assert_eventually(
        lambda: get_run(api, run_id),
        lambda run: run["state"] in wanted,
        timeout=timeout,
        message=f"run {run_id} in {sorted(wanted)}",
    )


async def runs_of(api: httpx.AsyncClient, process_id: str) -> list[dict[str, Any]]:
    """The first 100 runs of a process, as ``GET /v2/runs?process_id=`` lists them."""
    response = await api.get("/v2/runs", params={"process_id": process_id, "limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def set_trigger(api: httpx.AsyncClient, process_id: str, **body: Any) -> dict[str, Any]:
    """``PUT /v2/processes/{id}/email-trigger``; returns the trigger."""
    response = await api.put(f"/v2/processes/{process_id}/email-trigger", json=body)
    assert response.status_code == 200, response.text
    return response.json()
