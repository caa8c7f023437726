"""Scale-out: two ``openruns api`` and two ``openruns worker`` processes on one Temporal and one
PostgreSQL behave as one OpenRuns. Idempotency, reads, listing, paging and publishing hold across
API replicas, PostgreSQL serialises concurrent edits, both workers take runs from the shared
task queue, and the health checks see them."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.helpers import assert_eventually
from tests.helpers.api import create_process, wait_for_state
from tests.helpers.replicas import HELLO, OPENRUNS, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def test_same_idempotency_key_on_both_apis_starts_one_run(
    stack: Stack, client: Client
) -> None:
    a, b = stack.a, stack.b
    process_id = (await create_process(a, HELLO))["id"]
    run_ids = set()
    for attempt in range(5):
        body = {"process_id": process_id, "stage": "Draft", "inputs": {"who": f"n{attempt}"}}
        headers = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
        answers = await asyncio.gather(
            a.post("/v2/runs", json=body, headers=headers),
            b.post("/v2/runs", json=body, headers=headers),
        )
        assert [r.status_code for r in answers] == [201, 201], [r.text for r in answers]
        ids = {r.json()["id"] for r in answers}
        assert len(ids) == 1, f"two API replicas started two runs for one key: {ids}"
        replayed = sorted(r.headers.get("Idempotent-Replayed", "") for r in answers)
        assert replayed == ["", "true"], "exactly one replica creates, the other replays"
        run_ids |= ids
    for run_id in run_ids:
        assert (await wait_for_state(b, run_id))["state"] == "Succeeded"

    query = f"ProcessId = '{process_id}'"
    counted = await assert_eventually(
        lambda: client.count_workflows(query), lambda c: c.count >= 5, timeout=15
    )
    assert counted.count == 5, f"{counted.count} runs in Temporal for 5 idempotency keys"


async def test_any_api_replica_reads_lists_and_pages_what_another_started(stack: Stack) -> None:
    a, b = stack.a, stack.b
    process_id = (await create_process(b, HELLO))["id"]
    started = []
    for index, api in enumerate((a, b, a, b, a)):
        body = {"process_id": process_id, "stage": "Draft", "inputs": {"who": f"r{index}"}}
        response = await api.post("/v2/runs", json=body)
        assert response.status_code == 201, response.text
        started.append(response.json()["id"])
    for run_id, reader in zip(started, (b, a, b, a, b), strict=True):
        run = await wait_for_state(reader, run_id)
        assert run["state"] == "Succeeded" and run["outputs"]["greeting"].startswith("hello r")

    async def page_through() -> list[str]:
        # Page 1 from api-a, every following page from api-b with api-a's token.
        params: dict[str, Any] = {"process_id": process_id, "limit": 2}
        page = (await a.get("/v2/runs", params=params)).json()
        seen = [run["id"] for run in page["items"]]
        while page["continuation_token"]:
            params["continuation_token"] = page["continuation_token"]
            response = await b.get("/v2/runs", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [run["id"] for run in page["items"]]
        return seen

    seen = await assert_eventually(page_through, lambda ids: len(ids) >= len(started))
    assert sorted(seen) == sorted(started)


async def test_concurrent_edits_on_both_apis_are_serialised_by_postgres(stack: Stack) -> None:
    a, b = stack.a, stack.b
    name = f"twice-{uuid.uuid4().hex[:8]}"
    created = await asyncio.gather(
        *(api.post("/v2/processes", json={"name": name, "definition": HELLO}) for api in (a, b))
    )
    assert sorted(r.status_code for r in created) == [201, 409], [r.text for r in created]
    process_id = next(r.json()["id"] for r in created if r.status_code == 201)

    edited = {**HELLO, "description": "edited"}
    saves = await asyncio.gather(
        *(
            api.put(
                f"/v2/processes/{process_id}/draft",
                json={"definition": edited, "base_revision": 1},
            )
            for api in (a, b)
        )
    )
    assert sorted(r.status_code for r in saves) == [200, 409], [r.text for r in saves]
    assert (await b.get(f"/v2/processes/{process_id}")).json()["draft_revision"] == 2


async def test_a_publish_on_one_api_is_what_the_other_runs_next(stack: Stack) -> None:
    """Each API process caches parsed revisions; a revision never changes, and which revision
    a stage means is read from PostgreSQL on every start, so no replica runs a stale one."""
    a, b = stack.a, stack.b
    process_id = (await create_process(a, HELLO))["id"]
    outputs = []
    for version, (editor, starter) in enumerate(((a, b), (b, a), (a, b)), start=1):
        if version > 1:
            definition = {
                **HELLO,
                "outputs": {"greeting": f"v{version} {{{{ steps.greet.text }}}}"},
            }
            saved = await editor.put(
                f"/v2/processes/{process_id}/draft", json={"definition": definition}
            )
            assert saved.status_code == 200, saved.text
        assert (await editor.post(f"/v2/processes/{process_id}/publish")).status_code == 200
        body = {"process_id": process_id, "stage": "Published", "inputs": {"who": "x"}}
        started = await starter.post("/v2/runs", json=body)
        assert started.status_code == 201, started.text
        run = await wait_for_state(starter, started.json()["id"])
        outputs.append((run["revision"], run["outputs"]["greeting"]))
    assert outputs == [(1, "hello x"), (2, "v2 hello x"), (3, "v3 hello x")]


async def test_both_workers_take_runs_from_the_shared_task_queue(
    stack: Stack, client: Client
) -> None:
    replicas, a, b = stack.replicas, stack.a, stack.b
    process_id = (await create_process(a, HELLO))["id"]
    live = {w.identity for w in replicas.workers if w.process.poll() is None}
    seen: set[str] = set()
    for batch in range(6):
        runs = [
            (await api.post("/v2/runs", json={"process_id": process_id, "stage": "Draft",
                                              "inputs": {"who": f"b{batch}"}})).json()["id"]
            for api in (a, b, a, b, a, b)
        ]  # fmt: skip
        for run_id in runs:
            assert (await wait_for_state(b, run_id))["state"] == "Succeeded"
            async for event in client.get_workflow_handle(run_id).fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                    seen.add(event.workflow_task_completed_event_attributes.identity)
        if live <= seen:
            break
    assert live <= seen, f"workers {live}, but only {seen} completed workflow tasks"
    assert seen <= {w.identity for w in replicas.workers}, seen


async def test_healthchecks_see_the_running_replicas(stack: Stack) -> None:
    replicas = stack.replicas

    def healthcheck(component: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [OPENRUNS, "healthcheck", component],
            env={**replicas.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    api = await asyncio.to_thread(healthcheck, "api", OPENRUNS_API_PORT=str(replicas.apis[0].port))
    assert api.returncode == 0, api.stderr
    worker = await asyncio.to_thread(healthcheck, "worker")
    assert worker.returncode == 0, worker.stderr
    assert "polls" in worker.stdout
    idle = await asyncio.to_thread(healthcheck, "worker", OPENRUNS_TASK_QUEUE="nobody-polls")
    assert idle.returncode == 1 and "no worker@" in idle.stderr
