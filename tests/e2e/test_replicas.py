"""Scale-out: two ``openruns api`` and two ``openruns worker`` processes on one Temporal and one
PostgreSQL behave as one OpenRuns. Idempotency, reads, listing and paging hold across API
replicas; both workers take runs from the shared task queue; a worker killed mid-run costs
nothing but time; ``openruns setup`` can run on every replica at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client

from openruns import search_attributes
from openruns.store.apikeys import hash_key
from tests.helpers import assert_eventually
from tests.helpers.api import FINAL_STATES
from tests.helpers.databases import postgres_database
from tests.helpers.replicas import OPENRUNS, HangOnceServer, Replicas, component_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

HELLO = {
    "inputs": {"who": {"type": "string", "required": True}},
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello {{ inputs.who }}"}}],
    "outputs": {"greeting": "{{ steps.greet.text }}"},
}


def _http(replica_url: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=replica_url, headers={"x-api-key": key}, timeout=30)


@pytest.fixture(scope="module")
async def stack(client: Client, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """setup once, then api-a, api-b, worker-1, worker-2, all on one fresh PostgreSQL database."""
    directory = tmp_path_factory.mktemp("replicas")
    key = f"ork_e2e_{uuid.uuid4().hex}"
    async with postgres_database() as url:
        env = component_env(
            OPENRUNS_DATABASE_URL=url,
            OPENRUNS_TEMPORAL_ADDRESS=client.service_client.config.target_host,
            OPENRUNS_NAMESPACE=client.namespace,
            OPENRUNS_TASK_QUEUE=f"tq-replicas-{uuid.uuid4()}",
            OPENRUNS_DATA_DIR=str(directory / "data"),
            OPENRUNS_HTTP_ALLOW="127.0.0.1",
            OPENRUNS_AUTO_SETUP="false",
        )
        setup = await asyncio.to_thread(
            subprocess.run,
            [OPENRUNS, "setup"],
            env={**env, "OPENRUNS_API_KEY": key},
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert setup.returncode == 0, setup.stderr
        replicas = Replicas(env, directory)
        try:
            for name in ("api-a", "api-b"):
                replicas.spawn_api(name)
            for name in ("worker-1", "worker-2"):
                replicas.spawn_worker(name)
            await asyncio.gather(
                *(replicas.api_ready(r) for r in replicas.apis),
                *(replicas.worker_ready(client, r) for r in replicas.workers),
            )
            a, b = (_http(r.url, key) for r in replicas.apis)
            async with a, b:
                yield replicas, a, b
        finally:
            await asyncio.to_thread(replicas.stop)


async def _process(api: httpx.AsyncClient, definition: dict[str, Any] = HELLO) -> str:
    response = await api.post(
        "/v2/processes", json={"name": f"p-{uuid.uuid4().hex[:8]}", "definition": definition}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _finished(api: httpx.AsyncClient, run_id: str, timeout: float = 30) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        response = await api.get(f"/v2/runs/{run_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    return await assert_eventually(
        read, lambda run: run["state"] in FINAL_STATES, timeout=timeout, message=run_id
    )


async def test_same_idempotency_key_on_both_apis_starts_one_run(stack: Any, client: Client) -> None:
    _, a, b = stack
    process_id = await _process(a)
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
        assert (await _finished(b, run_id))["state"] == "Succeeded"

    query = f"ProcessId = '{process_id}'"
    counted = await assert_eventually(
        lambda: client.count_workflows(query), lambda c: c.count >= 5, timeout=15
    )
    assert counted.count == 5, f"{counted.count} runs in Temporal for 5 idempotency keys"


async def test_any_api_replica_reads_lists_and_pages_what_another_started(stack: Any) -> None:
    _, a, b = stack
    process_id = await _process(b)
    started = []
    for index, api in enumerate((a, b, a, b, a)):
        body = {"process_id": process_id, "stage": "Draft", "inputs": {"who": f"r{index}"}}
        response = await api.post("/v2/runs", json=body)
        assert response.status_code == 201, response.text
        started.append(response.json()["id"])
    for run_id, reader in zip(started, (b, a, b, a, b), strict=True):
        run = await _finished(reader, run_id)
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


async def test_concurrent_edits_on_both_apis_are_serialised_by_postgres(stack: Any) -> None:
    _, a, b = stack
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


async def test_a_publish_on_one_api_is_what_the_other_runs_next(stack: Any) -> None:
    """Each API process caches parsed revisions; a revision never changes, and which revision
    a stage means is read from PostgreSQL on every start, so no replica runs a stale one."""
    _, a, b = stack
    process_id = await _process(a)
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
        run = await _finished(starter, started.json()["id"])
        outputs.append((run["revision"], run["outputs"]["greeting"]))
    assert outputs == [(1, "hello x"), (2, "v2 hello x"), (3, "v3 hello x")]


async def test_both_workers_take_runs_from_the_shared_task_queue(
    stack: Any, client: Client
) -> None:
    replicas, a, b = stack
    process_id = await _process(a)
    live = {w.identity for w in replicas.workers if w.process.poll() is None}
    seen: set[str] = set()
    for batch in range(6):
        runs = [
            (await api.post("/v2/runs", json={"process_id": process_id, "stage": "Draft",
                                              "inputs": {"who": f"b{batch}"}})).json()["id"]
            for api in (a, b, a, b, a, b)
        ]  # fmt: skip
        for run_id in runs:
            assert (await _finished(b, run_id))["state"] == "Succeeded"
            async for event in client.get_workflow_handle(run_id).fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                    seen.add(event.workflow_task_completed_event_attributes.identity)
        if live <= seen:
            break
    assert live <= seen, f"workers {live}, but only {seen} completed workflow tasks"
    assert seen <= {w.identity for w in replicas.workers}, seen


async def test_healthchecks_see_the_running_replicas(stack: Any) -> None:
    replicas, _, _ = stack

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


async def test_a_worker_killed_mid_run_leaves_the_run_to_the_other(
    stack: Any, client: Client
) -> None:
    replicas, a, b = stack
    with HangOnceServer() as server:
        step = {
            "id": "call",
            "uses": "http",
            "with": {"method": "GET", "url": f"{server.url}/slow"},
            # Per attempt: how long Temporal waits for the killed worker before retrying
            # elsewhere; also the test's budget between the request arriving and the kill.
            "timeout": 8,
            "retry": {"max_attempts": 3, "initial_interval": 0.5},
        }
        process_id = await _process(
            a, {"steps": [step], "outputs": {"served": "{{ steps.call.json.served }}"}}
        )
        response = await a.post("/v2/runs", json={"process_id": process_id, "stage": "Draft"})
        run_id = response.json()["id"]
        await server.wait_first()  # one worker is inside the activity now

        async def running_on() -> str:
            description = await client.get_workflow_handle(run_id).describe()
            pending = description.raw_description.pending_activities
            return pending[0].last_worker_identity if pending and pending[0].attempt == 1 else ""

        identity = await assert_eventually(running_on)
        victim = next(w for w in replicas.workers if w.identity == identity)
        survivor = next(w for w in replicas.workers if w is not victim and w.process.poll() is None)
        os.kill(victim.process.pid, signal.SIGKILL)

        run = await _finished(b, run_id, timeout=60)
        assert run["state"] == "Succeeded", run
        assert run["outputs"] == {"served": True}
    started = [
        event.activity_task_started_event_attributes
        async for event in client.get_workflow_handle(run_id).fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert [(s.identity, s.attempt) for s in started] == [(survivor.identity, 2)]
    assert victim.process.wait(timeout=10) == -signal.SIGKILL

    replacement = replicas.spawn_worker("worker-3")  # scale back to two for later tests
    await replicas.worker_ready(client, replacement)


async def test_setup_runs_safely_on_every_replica_at_once(client: Client, tmp_path: Path) -> None:
    """Three replicas starting together on a fresh database and a fresh namespace: all three
    succeed, the schema and search attributes exist once, the configured key exists once."""
    namespace = f"ns-{uuid.uuid4().hex[:10]}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    key = f"ork_same_{uuid.uuid4().hex}"
    async with postgres_database() as url:
        env = component_env(
            OPENRUNS_DATABASE_URL=url,
            OPENRUNS_TEMPORAL_ADDRESS=client.service_client.config.target_host,
            OPENRUNS_NAMESPACE=namespace,
            OPENRUNS_DATA_DIR=str(tmp_path),
            OPENRUNS_API_KEY=key,
        )
        processes = [
            await asyncio.create_subprocess_exec(
                OPENRUNS, "setup", env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(3)
        ]  # fmt: skip
        outcomes = await asyncio.gather(*(p.communicate() for p in processes))
        for process, (_, stderr) in zip(processes, outcomes, strict=True):
            assert process.returncode == 0, stderr.decode()[-2000:]
        connection = await asyncpg.connect(url)
        try:
            keys = await connection.fetchval(
                "SELECT count(*) FROM api_keys WHERE key_hash = $1", hash_key(key)
            )
            versions = await connection.fetch("SELECT version_num FROM alembic_version")
        finally:
            await connection.close()
    assert keys == 1
    assert len(versions) == 1
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert {k.name for k in search_attributes.ALL} <= set(listed.custom_attributes)
