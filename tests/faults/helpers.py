"""Shared moves of the fault tests: create a process, start runs in bulk, count outcomes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from temporalio.client import Client

from tests.helpers import assert_eventually


async def create(http: httpx.AsyncClient, definition: dict[str, Any], name: str) -> str:
    response = await http.post("/v2/processes", json={"name": name, "definition": definition})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def start_many(
    http: httpx.AsyncClient, process_id: str, inputs: list[dict[str, Any]], parallel: int = 20
) -> list[str]:
    gate = asyncio.Semaphore(parallel)

    async def one(values: dict[str, Any]) -> str:
        async with gate:
            body = {"process_id": process_id, "stage": "Draft", "inputs": values}
            response = await http.post("/v2/runs", json=body)
            assert response.status_code == 201, response.text
            return response.json()["id"]

    return list(await asyncio.gather(*(one(v) for v in inputs)))


async def count(client: Client, process_id: str, status: str | None = None) -> int:
    query = f"ProcessId = '{process_id}'"
    if status:
        query += f" AND ExecutionStatus = '{status}'"
    return (await client.count_workflows(query)).count


async def all_completed(client: Client, process_id: str, total: int, timeout: float) -> None:
    await assert_eventually(
        lambda: count(client, process_id, "Completed"),
        lambda done: done == total,
        timeout=timeout,
        interval=0.5,
        message=f"all {total} runs of {process_id} Succeeded",
    )
    assert await count(client, process_id) == total  # and not one more


async def outputs(http: httpx.AsyncClient, run_ids: list[str]) -> dict[str, Any]:
    gate = asyncio.Semaphore(20)

    async def one(run_id: str) -> tuple[str, Any]:
        async with gate:
            run = (await http.get(f"/v2/runs/{run_id}")).json()
            assert run["state"] == "Succeeded", run
            return run_id, run["outputs"]

    return dict(await asyncio.gather(*(one(r) for r in run_ids)))
