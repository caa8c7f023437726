"""Determinism: histories of real runs replay cleanly against the current workflow code."""

from __future__ import annotations

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.http_server import LocalHttpServer
from worker import SANDBOX, WORKFLOWS


async def test_histories_replay_without_nondeterminism(
    api: httpx.AsyncClient, worker: object, client: Client, http_server: LocalHttpServer
) -> None:
    definition = {
        "inputs": {"n": {"type": "integer", "default": 2}},
        "steps": [
            {"id": "calc", "uses": "set", "with": {"double": "{{ inputs.n * 2 }}"}},
            {"id": "nap", "uses": "sleep", "with": {"seconds": 0.2}},
            {"id": "skip", "uses": "fail", "if": "{{ steps.calc.double > 100 }}"},
            {"id": "call", "uses": "http", "with": {"url": f"{http_server.url}/ok"}},
            {"id": "stop", "uses": "fail", "if": "{{ inputs.n == 3 }}", "with": {"message": "n=3"}},
        ],
        "outputs": {"double": "{{ steps.calc.double }}", "status": "{{ steps.call.status }}"},
    }
    process = await create_process(api, definition)
    run_ids = []
    for n in (2, 3):
        run = await start_run(api, process["id"], inputs={"n": n})
        run_ids.append(run["id"])
    cancelled = await start_run(api, process["id"], inputs={"n": 2})
    await wait_for_state(api, cancelled["id"], "Running")
    await api.post(f"/v2/runs/{cancelled['id']}/cancel")
    run_ids.append(cancelled["id"])
    states = [(await wait_for_state(api, run_id))["state"] for run_id in run_ids]
    assert states == ["Succeeded", "Failed", "Cancelled"]

    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=SANDBOX, data_converter=pydantic_data_converter
    )
    for run_id in run_ids:
        history = await client.get_workflow_handle(run_id).fetch_history()
        await replayer.replay_workflow(history)  # raises on any nondeterminism
