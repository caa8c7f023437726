"""``GET /v2/runs/{id}/step-outputs``: what each step output, read from the run itself by a
worker (a Temporal query), on a real dev server and worker."""

from __future__ import annotations

import httpx
from temporalio.client import Client

from openruns.settings import Settings
from openruns.store import Database
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.http_server import LocalHttpServer
from worker import worker_for


async def _step_outputs(api: httpx.AsyncClient, run_id: str) -> dict[str, object]:
    response = await api.get(f"/v2/runs/{run_id}/step-outputs")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_id"] == run_id
    return dict(body["steps"])


async def test_a_succeeded_run_gives_each_steps_output(
    api: httpx.AsyncClient, worker: object, http_server: LocalHttpServer
) -> None:
    definition = {
        "inputs": {"amount": {"type": "number", "default": 0}},
        "steps": [
            {"id": "total", "uses": "set", "with": {"gross": "{{ inputs.amount * 2 }}"}},
            {"id": "never", "if": "{{ steps.total.gross > 100 }}", "uses": "set", "with": {}},
            {"id": "call", "uses": "http", "with": {"url": f"{http_server.url}/hello"}},
        ],
        "outputs": {"gross": "{{ steps.total.gross }}"},
    }
    process = await create_process(api, definition)
    run = await start_run(api, process["id"], inputs={"amount": 21})
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done

    steps = await _step_outputs(api, run["id"])
    assert list(steps) == ["total", "never", "call"]
    assert steps["total"] == {"gross": 42} == done["outputs"]
    assert steps["never"] is None  # skipped, as the templates after it see it
    call = steps["call"]
    assert isinstance(call, dict)
    assert (call["status"], call["json"]) == (200, {"ok": True, "path": "/hello"})
    assert call["headers"]["content-type"] == "application/json"

    one = await api.get(f"/v2/runs/{run['id']}/step-outputs", params={"step": "total"})
    assert one.status_code == 200 and one.json()["steps"] == {"total": {"gross": 42}}
    for without in ("never", "nope"):  # skipped: null; not a step: absent
        alone = await api.get(f"/v2/runs/{run['id']}/step-outputs", params={"step": without})
        assert alone.json()["steps"] == ({"never": None} if without == "never" else {})


async def test_a_failed_run_gives_the_steps_before_the_failure(
    api: httpx.AsyncClient, worker: object
) -> None:
    definition = {
        "steps": [
            {"id": "first", "uses": "set", "with": {"n": 1}},
            {"id": "boom", "uses": "fail", "with": {"message": "n is {{ steps.first.n }}"}},
            {"id": "after", "uses": "set", "with": {"n": 2}},
        ]
    }
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    assert done["state"] == "Failed" and done["error"]["message"] == "step 'boom' failed: n is 1"
    assert await _step_outputs(api, done["id"]) == {"first": {"n": 1}}


async def test_a_running_run_gives_the_steps_so_far(api: httpx.AsyncClient, worker: object) -> None:
    definition = {
        "steps": [
            {"id": "first", "uses": "set", "with": {"n": 1}},
            {"id": "wait", "uses": "sleep", "with": {"seconds": 60}},
        ]
    }
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    await wait_for_state(api, run["id"], "Running")
    assert await _step_outputs(api, run["id"]) == {"first": {"n": 1}}  # the sleep has not ended
    assert (await api.post(f"/v2/runs/{run['id']}/cancel")).status_code == 202
    assert (await wait_for_state(api, run["id"]))["state"] == "Cancelled"
    assert await _step_outputs(api, run["id"]) == {"first": {"n": 1}}


async def test_outputs_need_a_worker_but_a_pending_run_has_none(
    api: httpx.AsyncClient, client: Client, settings: Settings, database: Database
) -> None:
    process = await create_process(
        api, {"steps": [{"id": "only", "uses": "set", "with": {"v": "{{ run.trigger }}"}}]}
    )
    run = await start_run(api, process["id"])
    assert await _step_outputs(api, run["id"]) == {}  # Pending: answered without a worker

    async with worker_for(client, settings, database):
        assert (await wait_for_state(api, run["id"]))["state"] == "Succeeded"
        assert await _step_outputs(api, run["id"]) == {"only": {"v": "api"}}

    # Finished, and no worker to replay it: a 503 that says why, not a hang or a 500.
    response = await api.get(f"/v2/runs/{run['id']}/step-outputs")
    assert response.status_code == 503, response.text
    assert "no worker answered within 5 s" in response.json()["message"]
    assert response.headers["retry-after"]

    async with worker_for(client, settings, database):  # a new worker replays it
        assert await _step_outputs(api, run["id"]) == {"only": {"v": "api"}}


async def test_an_unknown_run_is_a_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/v2/runs/no-such-run/step-outputs")
    assert response.status_code == 404, response.text
    assert response.json()["message"] == "run 'no-such-run' not found"


async def test_a_run_that_ended_before_any_worker_took_it_has_none(
    api: httpx.AsyncClient, client: Client
) -> None:
    process = await create_process(api, {"steps": [{"id": "s", "uses": "set", "with": {}}]})
    run = await start_run(api, process["id"])  # no worker: it stays Pending ...
    await client.get_workflow_handle(run["id"]).terminate("ended by the test")  # ... and ends
    assert (await wait_for_state(api, run["id"]))["state"] == "Cancelled"
    assert await _step_outputs(api, run["id"]) == {}


async def test_outputs_too_large_for_one_answer_are_read_step_by_step(
    api: httpx.AsyncClient, worker: object
) -> None:
    steps = [{"id": f"s{i}", "uses": "set", "with": {"v": "{{ inputs.s }}"}} for i in range(6)]
    definition = {"inputs": {"s": {"type": "string"}}, "steps": steps}
    process = await create_process(api, definition)
    run = await start_run(api, process["id"], inputs={"s": "x" * 900_000})
    assert (await wait_for_state(api, run["id"], timeout=60))["state"] == "Succeeded"

    whole = await api.get(f"/v2/runs/{run['id']}/step-outputs")  # 5.4 MB: over gRPC's 4 MiB
    assert whole.status_code == 502, whole.text[:300]
    assert "too large to send in one answer" in whole.json()["message"]
    assert "?step=ID" in whole.json()["message"]
    one = await api.get(f"/v2/runs/{run['id']}/step-outputs", params={"step": "s5"})
    assert one.status_code == 200 and len(one.json()["steps"]["s5"]["v"]) == 900_000
