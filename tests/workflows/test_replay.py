"""Determinism: histories of real runs replay cleanly against the current workflow code —
those an earlier version wrote (committed in histories/, as runs in flight across an upgrade
are replayed) and those this code writes now."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.http_server import LocalHttpServer
from worker import SANDBOX, WORKFLOWS

HISTORIES = Path(__file__).parent / "histories"  # written by tests/workflows/make_histories.py
SAVED = [
    "succeeded",
    "failed",
    "http_retried",
    "cancelled",
    "timed_out",
    "archived_while_running",
    "process_step_parent",
    "process_step_child",
    "scheduled",
    "test_suite",
]


def _replayer() -> Replayer:
    """What the worker runs: its workflows, in its sandbox, with its payload converter."""
    return Replayer(
        workflows=WORKFLOWS, workflow_runner=SANDBOX, data_converter=pydantic_data_converter
    )


@pytest.mark.parametrize("name", SAVED)
async def test_saved_histories_replay_without_nondeterminism(name: str) -> None:
    saved = json.loads((HISTORIES / f"{name}.json").read_text())
    history = WorkflowHistory.from_json(saved["workflow_id"], saved["history"])
    await _replayer().replay_workflow(history)  # raises on any nondeterminism


def test_every_saved_history_is_replayed() -> None:
    assert sorted(p.stem for p in HISTORIES.glob("*.json")) == sorted(SAVED)


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

    replayer = _replayer()
    for run_id in run_ids:
        history = await client.get_workflow_handle(run_id).fetch_history()
        await replayer.replay_workflow(history)  # raises on any nondeterminism
