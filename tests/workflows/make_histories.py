"""Write the run histories that tests/workflows/test_replay.py replays (tests/workflows/histories/).

A run in flight when a worker is upgraded is replayed by the new code from its history: a
workflow change that orders commands differently breaks it (NondeterminismError) and the run
is stuck. Histories written by the code under test cannot show that; these files, written by
an earlier version and committed, do.

Regenerate them (from the repository root) only when a workflow change is *meant* to break
runs in flight (and ships with a migration story), or to add a case::

    .venv/bin/python -m tests.workflows.make_histories

It starts its own Temporal dev server (a free port), SQLite store, worker and API (in-process),
as the tests do, and writes one ``<case>.json`` per case: ``{"workflow_id", "history"}``, the
history as Temporal's JSON (``WorkflowHistory.to_json_dict``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from openruns import search_attributes
from openruns.devstack import temporal_binary
from openruns.models import ProcessRunInput
from openruns.services.run_start import launch
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import Database
from openruns.store.migrate import migrate
from tests.helpers import assert_eventually
from tests.helpers.actions import act
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.apps import api_client
from tests.helpers.http_server import LocalHttpServer
from worker import worker_for
from workflows.child_runs import child_run_id

HISTORIES = Path(__file__).parent / "histories"

Case = Callable[[httpx.AsyncClient, Settings, Client, str], Awaitable[list[tuple[str, str]]]]

DOUBLER: dict[str, Any] = {
    "inputs": {"n": {"type": "number", "required": True}},
    "steps": [{"id": "calc", "uses": "set", "with": {"double": "{{ inputs.n * 2 }}"}}],
    "outputs": {"double": "{{ steps.calc.double }}"},
}


async def _finished(api: httpx.AsyncClient, run_id: str, state: str) -> str:
    done = await wait_for_state(api, run_id)
    assert done["state"] == state, done
    return str(done["id"])


async def succeeded(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """Every kind of step a run does itself: set, sleep, a skipped step, http, outputs."""
    definition = {
        "inputs": {"n": {"type": "integer", "default": 2}},
        "steps": [
            {"id": "calc", "uses": "set", "with": {"double": "{{ inputs.n * 2 }}"}},
            {"id": "nap", "uses": "sleep", "with": {"seconds": 0.2}},
            {"id": "skip", "uses": "fail", "if": "{{ steps.calc.double > 100 }}"},
            {"id": "call", "uses": "http",
             "with": {"method": "POST", "url": f"{url}/echo", "json": {"n": "{{ inputs.n }}"}}},
        ],
        "outputs": {"double": "{{ steps.calc.double }}", "echo": "{{ steps.call.json.json }}",
                    "created": "{{ run.created_at }}"},
    }  # fmt: skip
    process = await create_process(api, definition)
    run = await start_run(api, process["id"], inputs={"n": 3})
    return [("succeeded", await _finished(api, run["id"], "Succeeded"))]


async def failed(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """A ``fail`` step after a step that succeeded."""
    definition = {
        "steps": [
            {"id": "calc", "uses": "set", "with": {"n": 7}},
            {"id": "stop", "uses": "fail", "with": {"message": "n is {{ steps.calc.n }}"}},
            {"id": "never", "uses": "set", "with": {"n": 8}},
        ],
    }
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    return [("failed", await _finished(api, run["id"], "Failed"))]


async def http_retried(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """An http step answered 500 on both its attempts: the activity fails, so does the run."""
    definition = {
        "steps": [
            {"id": "call", "uses": "http", "retry": {"max_attempts": 2, "initial_interval": 0.1},
             "with": {"url": f"{url}/status/500"}},
        ],
    }  # fmt: skip
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    return [("http_retried", await _finished(api, run["id"], "Failed"))]


async def cancelled(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """Cancelled while its sleep step waits."""
    definition = {
        "steps": [
            {"id": "calc", "uses": "set", "with": {"n": 1}},
            {"id": "wait", "uses": "sleep", "with": {"seconds": 60}},
        ]
    }
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    await assert_eventually(
        lambda: wait_for_state(api, run["id"], "Running"),
        lambda r: r["steps"][1]["state"] == "Running",
    )
    assert (await api.post(f"/v2/runs/{run['id']}/cancel")).status_code == 202
    return [("cancelled", await _finished(api, run["id"], "Cancelled"))]


async def timed_out(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """The run's timeout expires while it sleeps."""
    definition = {"timeout": 1, "steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 30}}]}
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    return [("timed_out", await _finished(api, run["id"], "TimedOut"))]


async def archived_while_running(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """Archived, then unarchived, then archived again (three signals) while it sleeps."""
    definition = {"steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 3}}]}
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    await wait_for_state(api, run["id"], "Running")
    for action in ("archive", "unarchive", "archive"):
        [result] = await act(api, action, [run["id"]])
        assert result["ok"] and result["run"]["state"] == "Running", result
    return [("archived_while_running", await _finished(api, run["id"], "Succeeded"))]


async def process_step(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """A ``process`` step: a child run of a published process (both histories)."""
    child = await create_process(api, DOUBLER, publish=True)
    definition = {
        "steps": [
            {"id": "sub", "uses": "process",
             "with": {"process_id": child["id"], "inputs": {"n": 21}}},
        ],
        "outputs": {"answer": "{{ steps.sub.double }}"},
    }  # fmt: skip
    parent = await create_process(api, definition)
    run = await start_run(api, parent["id"])
    parent_id = await _finished(api, run["id"], "Succeeded")
    child_id = await _finished(api, child_run_id(parent_id, "sub"), "Succeeded")
    return [("process_step_parent", parent_id), ("process_step_child", child_id)]


async def scheduled(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """Started as a Temporal Schedule starts a run: no definition, the published revision is
    resolved by an activity when the run starts."""
    process = await create_process(api, DOUBLER, publish=True)
    run_input = ProcessRunInput(
        process_id=process["id"], process_name=process["name"], stage=Stage.PUBLISHED,
        inputs={"n": 4}, trigger=Trigger.SCHEDULE, name="nightly",
        schedule_id=f"sch-{uuid.uuid4().hex}",
    )  # fmt: skip
    run_id = f"run-scheduled-{uuid.uuid4().hex}"
    await launch(client, settings, run_id, run_input)
    return [("scheduled", await _finished(api, run_id, "Succeeded"))]


async def test_suite(
    api: httpx.AsyncClient, settings: Settings, client: Client, url: str
) -> list[tuple[str, str]]:
    """A test run (``TestSuiteWorkflow``) of three cases: one passes, one fails its
    comparison, one's run fails."""
    process = await create_process(api, DOUBLER, publish=True)
    for n in (1, 2, 3):
        run = await start_run(api, process["id"], inputs={"n": n})
        results = await act(api, "add_test_case", [await _finished(api, run["id"], "Succeeded")])
        assert results[0]["ok"], results
    edited = {
        **DOUBLER,
        "steps": [
            {"id": "guard", "uses": "fail", "if": "{{ inputs.n == 1 }}"},
            {"id": "calc", "uses": "set",
             "with": {"double": "{{ inputs.n * 2 if inputs.n == 3 else 0 }}"}},
        ],
    }  # fmt: skip
    response = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": edited})
    assert response.status_code == 200, response.text
    response = await api.post("/v2/test-runs", json={"process_ids": [process["id"]]})
    assert response.status_code == 201, response.text
    test_run_id = response.json()["id"]

    async def read() -> dict[str, Any]:
        return (await api.get(f"/v2/test-runs/{test_run_id}")).json()

    report = await assert_eventually(read, lambda r: r["state"] == "Completed", timeout=30)
    assert report["totals"] == {"passed": 1, "failed": 1, "error": 1, "pending": 0}, report
    return [("test_suite", test_run_id)]


CASES: list[Case] = [
    succeeded,
    failed,
    http_retried,
    cancelled,
    timed_out,
    archived_while_running,
    process_step,
    scheduled,
    test_suite,
]


async def main(out: Path = HISTORIES) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    )
    try:
        with tempfile.TemporaryDirectory() as workdir, LocalHttpServer() as http_server:
            settings = Settings(
                data_dir=Path(workdir),
                database_url=f"sqlite:///{Path(workdir) / 'openruns.db'}",
                temporal_address=env.client.service_client.config.target_host,
                task_queue=f"histories-{uuid.uuid4()}",
                api_key=f"ork_histories_{uuid.uuid4().hex}",
                http_allow=["127.0.0.1"],
            )
            database = Database.from_settings(settings)
            await migrate(database)
            try:
                async with (
                    worker_for(env.client, settings, database),
                    api_client(settings) as api,
                ):
                    runs: list[tuple[str, str]] = []
                    for case in CASES:
                        runs += await case(api, settings, env.client, http_server.url)
            finally:
                await database.dispose()
            out.mkdir(exist_ok=True)
            for name, workflow_id in runs:
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                document = {"workflow_id": workflow_id, "history": history.to_json_dict()}
                path = out / f"{name}.json"
                path.write_text(json.dumps(document, indent=1) + "\n")
                print(f"wrote {path} ({len(history.events)} events)", file=sys.stderr)
    finally:
        await env.shutdown()


if __name__ == "__main__":
    logging.getLogger("temporalio").setLevel(logging.ERROR)  # the failing cases' activities
    asyncio.run(main())
