"""Runs through the API alone, against the real dev server: the six states and the contract."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from openruns.errors import NotFound
from openruns.ids import new_id
from openruns.models import ProcessRunInput
from openruns.services import run_history
from openruns.services.run_start import start_options
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import Database
from tests.helpers import assert_eventually
from tests.helpers.api import create_process, get_run, start_run, wait_for_state
from tests.helpers.history import activity_attempts
from tests.helpers.http_server import LocalHttpServer
from worker import worker_for

INVOICE: dict[str, Any] = {
    "inputs": {
        "customer": {"type": "string", "required": True},
        "amount": {"type": "number", "default": 0},
    },
    "steps": [
        {"id": "total", "uses": "set", "with": {"net": "{{ inputs.amount }}",
                                                 "gross": "{{ inputs.amount * 1.2 }}"}},
        {"id": "reject", "if": "{{ steps.total.gross > 10000 }}", "uses": "fail",
         "with": {"message": "amount too large: {{ steps.total.gross }}"}},
    ],
    "outputs": {"gross": "{{ steps.total.gross }}", "who": "{{ inputs.customer | upper }}"},
}  # fmt: skip


async def test_run_succeeds_with_outputs(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, INVOICE)
    run = await start_run(api, process["id"], inputs={"customer": "acme", "amount": 100})
    assert run["state"] in {"Pending", "Running", "Succeeded"}
    assert run["id"].startswith("run-") and run["trigger"] == "api"

    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    assert done["outputs"] == {"gross": 120.0, "who": "ACME"}
    assert done["inputs"] == {"customer": "acme", "amount": 100}
    assert done["revision"] == 1 and done["stage"] == "Draft"
    assert [(s["id"], s["state"]) for s in done["steps"]] == [
        ("total", "Succeeded"),
        ("reject", "Skipped"),
    ]
    assert done["started_at"] and done["ended_at"] and done["error"] is None
    assert done["temporal_ui_url"].endswith(f"/workflows/{run['id']}")


async def test_fail_step_fails_the_run_naming_the_step(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, INVOICE)
    run = await start_run(api, process["id"], inputs={"customer": "acme", "amount": 20000})
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed"
    assert done["error"]["step"] == "reject"
    assert "amount too large: 24000.0" in done["error"]["message"]
    assert done["steps"][1]["state"] == "Failed"
    assert done["outputs"] is None


async def test_http_step_against_a_500_fails_the_run(
    api: httpx.AsyncClient, worker: object, http_server: LocalHttpServer
) -> None:
    definition = {
        "steps": [
            {"id": "call", "uses": "http", "retry": {"max_attempts": 2, "initial_interval": 0.1},
             "with": {"url": f"{http_server.url}/status/500"}},
        ]
    }  # fmt: skip
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed"
    assert done["error"]["step"] == "call"
    assert "HTTP 500" in done["error"]["message"]
    assert http_server.counts["/status/500"] == 2  # retried as configured, then failed


async def test_http_step_succeeds_and_sends_an_idempotency_key(
    api: httpx.AsyncClient, worker: object, http_server: LocalHttpServer
) -> None:
    definition = {
        "inputs": {"n": {"type": "integer", "default": 3}},
        "steps": [
            {"id": "post", "uses": "http",
             "with": {"method": "post", "url": f"{http_server.url}/echo",
                      "json": {"n": "{{ inputs.n }}"}}},
        ],
        "outputs": {"echoed": "{{ steps.post.json.json.n }}", "status": "{{ steps.post.status }}"},
    }  # fmt: skip
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    assert done["outputs"] == {"echoed": 3, "status": 200}
    assert http_server.requests[-1]["headers"]["Idempotency-Key"] == f"{run['id']}/post"


async def test_http_steps_keep_no_state_and_fail_for_good_what_cannot_work(
    api: httpx.AsyncClient, worker: object, client: Client, http_server: LocalHttpServer
) -> None:
    """Runs share the worker's HTTP client, not its cookies; a definition's own
    Idempotency-Key (any spelling) is the one sent; a 2xx body nested too deep to decode is
    text; a request that can never be made fails at once, not after three attempts."""
    url = http_server.url
    calls = {"steps": [
        {"id": "login", "uses": "http", "with": {"url": f"{url}/cookie"}},
        {"id": "deep", "uses": "http", "with": {"method": "POST", "url": f"{url}/deep"}},
        {"id": "keyed", "uses": "http",
         "with": {"url": f"{url}/echo", "headers": {"idempotency-key": "order-42"}}},
    ], "outputs": {"deep": "{{ steps.deep.text | length }}"}}  # fmt: skip
    process = await create_process(api, calls)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    assert done["state"] == "Succeeded", done
    assert done["outputs"] == {"deep": 10000}
    assert http_server.counts["/deep"] == 1  # a successful POST is not sent again
    keyed = http_server.requests[-1]["headers"]
    assert [v for k, v in keyed.items() if k.lower() == "idempotency-key"] == ["order-42"]
    assert "Cookie" not in keyed  # the cookie /cookie set is not kept
    for bad, says in (
        ({"url": f"{url}/echo", "headers": {"x-name": "Jürgen"}}, "ASCII only"),
        ({"url": "http://127.0.0.1:99999/"}, "not a usable URL"),
        ({"url": f"{url}/echo", "headers": {"x-a": "b\r\nx-b: c"}}, "LocalProtocolError"),
    ):
        process = await create_process(
            api, {"steps": [{"id": "call", "uses": "http", "with": bad}]}
        )
        failed = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
        assert failed["state"] == "Failed" and says in failed["error"]["message"], failed
        assert await activity_attempts(client, failed["id"]) == [1], says  # not retried
    assert http_server.counts["/echo"] == 1  # only the keyed call reached the server


async def test_outputs_larger_than_temporal_keeps_fail_the_run_at_once(
    api: httpx.AsyncClient, worker: object
) -> None:
    """3 MB of outputs: Temporal refuses such a completion, and the run sat Running until its
    timeout (then showed TimedOut); it now fails saying why."""
    big = {"timeout": 60,
           "steps": [{"id": "pad", "uses": "set", "with": {"text": "{{ 'a' * 1000000 }}"}}],
           "outputs": dict.fromkeys(("a", "b", "c"), "{{ steps.pad.text }}")}  # fmt: skip
    process = await create_process(api, big)
    response = await api.post(
        "/v2/runs", json={"process_id": process["id"], "stage": "Draft"}, params={"wait": 20}
    )
    done = response.json()
    assert done["state"] == "Failed", done["state"]
    assert done["error"]["type"] == "OutputTooLarge"
    assert "more than Temporal keeps for a run's result" in done["error"]["message"]
    assert [s["state"] for s in done["steps"]] == ["Succeeded"]


async def test_cancel_while_sleeping(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(
        api, {"steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 60}}]}
    )
    run = await start_run(api, process["id"])
    running = await wait_for_state(api, run["id"], "Running")
    assert running["steps"][0]["state"] == "Running"

    response = await api.post(f"/v2/runs/{run['id']}/cancel")
    assert response.status_code == 202, response.text
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Cancelled"
    assert done["steps"][0]["state"] == "Cancelled"

    again = await api.post(f"/v2/runs/{run['id']}/cancel")
    assert again.status_code == 409
    assert "already finished" in again.json()["message"]


async def test_timeout_ends_timed_out(api: httpx.AsyncClient, worker: object) -> None:
    definition = {"timeout": 2, "steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 30}}]}
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    done = await wait_for_state(api, run["id"], timeout=20)
    assert done["state"] == "TimedOut"
    assert done["steps"][0]["state"] == "TimedOut"
    assert "timeout" in done["error"]["message"]


async def test_pending_until_a_worker_polls(
    api: httpx.AsyncClient, client: Client, settings: Settings, database: Database
) -> None:
    process = await create_process(api, INVOICE)
    run = await start_run(api, process["id"], inputs={"customer": "x"})
    assert (await get_run(api, run["id"]))["state"] == "Pending"  # nobody polls its queue yet
    await assert_eventually(  # visibility indexes the start a moment later
        lambda: api.get("/v2/runs", params={"process_id": process["id"], "state": "Pending"}),
        lambda listed: [r["id"] for r in listed.json()["items"]] == [run["id"]],
    )

    async with worker_for(client, settings, database):
        done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded"


async def test_a_run_no_worker_ever_took_has_no_start_time(
    api: httpx.AsyncClient, client: Client, settings: Settings, database: Database
) -> None:
    """started_at means picked up by a worker (SPEC): a run that timed out or was terminated
    while Pending has none; one that finished in its first task started when it ended."""
    timeout = {**INVOICE, "timeout": 1}
    process = await create_process(api, timeout)
    idle = await start_run(api, process["id"], inputs={"customer": "x"})  # nobody polls yet
    stopped = await start_run(api, process["id"], inputs={"customer": "y"})
    await client.get_workflow_handle(stopped["id"]).terminate("stop")
    assert (await wait_for_state(api, idle["id"]))["state"] == "TimedOut"
    async with worker_for(client, settings, database):
        quick = await wait_for_state(
            api, (await start_run(api, process["id"], inputs={"customer": "z"}))["id"]
        )
    assert quick["state"] == "Succeeded" and quick["started_at"] is not None

    listed = await assert_eventually(
        lambda: api.get("/v2/runs", params={"process_id": process["id"], "limit": 10}),
        lambda response: len(response.json()["items"]) == 3,
    )
    by_id = {run["id"]: run for run in listed.json()["items"]}
    for run_id, state in ((idle["id"], "TimedOut"), (stopped["id"], "Cancelled")):
        for run in (await get_run(api, run_id), by_id[run_id]):
            assert (run["state"], run["started_at"]) == (state, None), run
            assert run["ended_at"] is not None
    assert by_id[quick["id"]]["started_at"] == quick["started_at"] == quick["ended_at"]


async def test_revision_is_pinned_when_the_draft_changes(
    api: httpx.AsyncClient, worker: object
) -> None:
    v1 = {"steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 1}}], "outputs": {"v": 1}}
    process = await create_process(api, v1)
    run = await start_run(api, process["id"])
    await wait_for_state(api, run["id"], "Running")
    response = await api.put(
        f"/v2/processes/{process['id']}/draft", json={"definition": {**v1, "outputs": {"v": 2}}}
    )
    assert response.json()["draft_revision"] == 2
    done = await wait_for_state(api, run["id"])
    assert done["outputs"] == {"v": 1} and done["revision"] == 1


async def test_same_idempotency_key_gives_one_run(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, INVOICE)
    body = {"process_id": process["id"], "stage": "Draft", "inputs": {"customer": "c"}}
    headers = {"Idempotency-Key": "order-42"}
    responses = await asyncio.gather(
        *(api.post("/v2/runs", json=body, headers=headers) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    listed = await api.get("/v2/runs", params={"process_id": process["id"]})
    assert len(listed.json()["items"]) == 1

    different = await api.post(
        "/v2/runs", json={**body, "inputs": {"customer": "d"}}, headers=headers
    )
    assert different.status_code == 409


@pytest.mark.parametrize(
    ("inputs", "path"),
    [
        ({}, "inputs.customer"),
        ({"customer": "x", "amount": "lots"}, "inputs.amount"),
        ({"customer": "x", "nope": 1}, "inputs.nope"),
    ],
)
async def test_bad_inputs_are_422(api: httpx.AsyncClient, inputs: dict, path: str) -> None:
    process = await create_process(api, INVOICE)
    response = await api.post(
        "/v2/runs", json={"process_id": process["id"], "stage": "Draft", "inputs": inputs}
    )
    assert response.status_code == 422
    assert path in [d["path"] for d in response.json()["details"]]


async def test_an_input_nested_hundreds_of_levels_deep_is_a_422(api: httpx.AsyncClient) -> None:
    """Such a value cannot be written into Temporal's payloads: it was a 500."""
    process = await create_process(api, {"inputs": {"x": {"type": "array"}}})

    async def start(depth: int) -> httpx.Response:
        value = "[" * depth + '"a"' + "]" * depth  # written by hand: httpx's json= recurses
        body = f'{{"process_id": "{process["id"]}", "stage": "Draft", "inputs": {{"x": {value}}}}}'
        return await api.post(
            "/v2/runs", content=body, headers={"content-type": "application/json"}
        )

    for depth in (65, 300, 900):
        response = await start(depth)
        assert response.status_code == 422, (depth, response.text)
        [detail] = response.json()["details"]
        assert detail == {"path": "inputs.x", "message": "nested deeper than 64 levels"}
    assert (await start(64)).status_code == 201
    too_deep = await start(5000)  # past what the JSON parser goes: a 422 that says so
    assert too_deep.status_code == 422, too_deep.text
    assert "nests too deeply" in too_deep.json()["message"]


async def test_only_manual_and_api_triggers_can_be_claimed(api: httpx.AsyncClient) -> None:
    process = await create_process(api, INVOICE)
    for trigger in ("email", "schedule", "test"):
        response = await api.post(
            "/v2/runs", json={"process_id": process["id"], "stage": "Draft", "trigger": trigger}
        )
        assert response.status_code == 422
        [detail] = response.json()["details"]
        assert detail["path"] == "trigger"
        assert detail["message"] == "Input should be 'manual' or 'api'"  # no Python enum reprs


async def test_kognitos_style_inputs(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, INVOICE)
    run = await start_run(api, process["id"], inputs=[{"name": "customer", "value": "k"}])
    assert (await wait_for_state(api, run["id"]))["inputs"] == {"customer": "k", "amount": 0}


async def test_published_stage_needs_a_published_revision(api: httpx.AsyncClient) -> None:
    process = await create_process(api, INVOICE)
    response = await api.post("/v2/runs", json={"process_id": process["id"], "stage": "Published"})
    assert response.status_code == 409
    assert "no published revision" in response.json()["message"]


async def test_unknown_ids_are_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v2/runs/run-nope")).status_code == 404
    assert (await api.post("/v2/runs/run-nope/cancel")).status_code == 404
    response = await api.post("/v2/runs", json={"process_id": "proc-nope", "stage": "Draft"})
    assert response.status_code == 404
    assert response.json()["message"] == "process 'proc-nope' not found"


async def test_no_key_is_401(api: httpx.AsyncClient) -> None:
    for headers in (
        {"x-api-key": ""},
        {"x-api-key": "wrong"},
        {"x-api-key": "", "Authorization": "Bearer wrong"},
    ):
        response = await api.get("/v2/runs", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["message"]
    health = await api.get("/v2/health", headers={"x-api-key": ""})
    assert health.status_code == 200 and health.json() == {"status": "OK"}


async def test_bearer_key_works(api: httpx.AsyncClient, settings: Settings) -> None:
    assert settings.api_key is not None
    key = settings.api_key.get_secret_value()
    response = await api.get(
        "/v2/runs", headers={"x-api-key": "", "Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200


async def test_wait_long_polls_until_the_run_ends(api: httpx.AsyncClient, worker: object) -> None:
    definition = {
        "steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 1}}],
        "outputs": {"ok": True},
    }
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    response = await api.get(f"/v2/runs/{run['id']}", params={"wait": 20})
    assert response.json()["state"] == "Succeeded"
    assert response.json()["outputs"] == {"ok": True}

    slow = await create_process(
        api, {"steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 30}}]}
    )
    slow_run = await start_run(api, slow["id"])
    response = await api.get(f"/v2/runs/{slow_run['id']}", params={"wait": 0.5})
    assert response.status_code == 200 and response.json()["state"] == "Running"
    assert (await api.get(f"/v2/runs/{slow_run['id']}", params={"wait": 61})).status_code == 422


async def test_start_and_wait_in_one_request(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, INVOICE)
    response = await api.post(
        "/v2/runs",
        params={"wait": 20},
        json={"process_id": process["id"], "stage": "Draft", "inputs": {"customer": "w"}},
    )
    assert response.status_code == 201
    assert response.json()["state"] == "Succeeded"
    assert response.json()["outputs"] == {"gross": 0.0, "who": "W"}
    assert response.json()["inputs"] == {"customer": "w", "amount": 0}


async def test_revoked_key_stops_working(api: httpx.AsyncClient, database: object) -> None:
    from openruns.store import Database
    from openruns.store.apikeys import create_key, revoke_key

    assert isinstance(database, Database)
    async with database.session() as session:
        row, key = await create_key(session, "short-lived")
    assert (await api.get("/v2/processes", headers={"x-api-key": key})).status_code == 200
    async with database.session() as session:
        await revoke_key(session, row.id)
    # Replicas trust a verified key for OPENRUNS_API_KEY_CACHE_SECONDS (5 s by default).
    await assert_eventually(
        lambda: api.get("/v2/processes", headers={"x-api-key": key}),
        lambda r: r.status_code == 401,
        timeout=10,
        interval=0.5,
    )


async def test_a_waited_run_reads_the_same_as_a_later_get(
    api: httpx.AsyncClient, worker: object
) -> None:
    """A wait reads the finished run from its history, a plain GET from a describe: for every
    way a run ends (in its first task, after waiting, failed, timed out, cancelled) and every
    way to wait (start and wait, wait on a started run), the two must be the same run."""
    nap = {"id": "nap", "uses": "sleep", "with": {"seconds": 1}}
    long_nap = {**nap, "with": {"seconds": 30}}
    definitions: dict[str, dict[str, Any]] = {
        "first task": INVOICE,
        "after waiting": {**INVOICE, "steps": [nap, INVOICE["steps"][0]]},
        "failed": {**INVOICE, "steps": [nap, *INVOICE["steps"]]},
        "timed out": {"inputs": INVOICE["inputs"], "timeout": 1, "steps": [long_nap]},
        "cancelled": {"inputs": INVOICE["inputs"], "steps": [long_nap]},
    }
    inputs = {"customer": "acme", "amount": 20000}
    for kind, definition in definitions.items():
        process = await create_process(api, definition)
        body = {"process_id": process["id"], "stage": "Draft", "inputs": inputs, "name": kind}
        if kind == "cancelled":
            run = await start_run(api, process["id"], inputs=inputs)
            await wait_for_state(api, run["id"], "Running")
            waiting = asyncio.create_task(api.get(f"/v2/runs/{run['id']}", params={"wait": 20}))
            ended, _ = await asyncio.wait({waiting}, timeout=0.3)
            assert not ended, "the wait returned before the run ended"
            assert (await api.post(f"/v2/runs/{run['id']}/cancel")).status_code == 202
            waited = (await waiting).json()
        else:
            response = await api.post("/v2/runs", params={"wait": 20}, json=body)
            assert response.status_code == 201, response.text
            waited = response.json()
        assert waited["state"] in {"Succeeded", "Failed", "TimedOut", "Cancelled"}, (kind, waited)
        assert waited == await get_run(api, waited["id"]), kind
        if kind == "after waiting":
            assert waited["started_at"] < waited["ended_at"]
            # the final timeline (the result's), not the one upserted while the run napped
            assert [(s["state"], bool(s["ended_at"])) for s in waited["steps"]] == [
                ("Succeeded", True),
                ("Succeeded", True),
            ]
            assert waited["outputs"] == {"gross": 24000.0, "who": "ACME"}


async def test_a_workflow_that_is_not_a_run_is_404(
    api: httpx.AsyncClient, client: Client, settings: Settings
) -> None:
    """A test run's id, say: 404 whether or not the request waits, and never a 500 from its
    input (which is not a run's) being decoded before the describe says it is not a run."""
    other = await client.start_workflow(
        "SomeoneElsesWorkflow",
        {"suite": "not a run input"},
        id=f"other-{uuid.uuid4().hex}",
        task_queue=f"nobody-polls-{uuid.uuid4().hex}",
    )
    try:
        with pytest.raises(NotFound):  # the input read alone already knows
            await run_history.started_input(client, other.id)
        for _ in range(5):
            response = await api.get(f"/v2/runs/{other.id}")
            assert response.status_code == 404, response.text
        response = await asyncio.wait_for(
            api.get(f"/v2/runs/{other.id}", params={"wait": 30}), timeout=10
        )
        assert response.status_code == 404, response.text
        assert "not found" in response.json()["message"]
    finally:
        await other.terminate()


@workflow.defn(name="ProcessRunWorkflow", sandboxed=False)
class _RunBeforeResultsHadTimelines:
    """A run as OpenRuns ended them before a result carried the final timeline: the result is
    the outputs, the timeline the last memo upsert."""

    @workflow.run
    async def run(self, input: ProcessRunInput) -> dict[str, Any]:
        now = workflow.now().isoformat()
        step = {"id": "total", "uses": "set", "state": "Succeeded", "started_at": now}
        workflow.upsert_memo({"steps": [{**step, "ended_at": now}]})
        # outputs that look like a result at a glance are still outputs
        return {"outputs": 120.0, "steps": "two"}


async def test_a_run_ended_before_results_had_timelines_reads_as_it_did(
    api: httpx.AsyncClient, client: Client, settings: Settings
) -> None:
    run_input = ProcessRunInput(
        process_id="proc-old", process_name="old", stage=Stage.DRAFT, revision=1,
        definition=INVOICE, inputs={"customer": "acme"}, trigger=Trigger.API, name="old run",
    )  # fmt: skip
    run_id = new_id("run")
    queue = f"older-runs-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[_RunBeforeResultsHadTimelines]):
        handle = await client.start_workflow(
            "ProcessRunWorkflow", run_input, id=run_id, task_queue=queue,
            **start_options(run_input),
        )  # fmt: skip
        await handle.result()
    waited = (await api.get(f"/v2/runs/{run_id}", params={"wait": 5})).json()
    assert waited == await get_run(api, run_id)
    assert waited["state"] == "Succeeded"
    assert waited["outputs"] == {"outputs": 120.0, "steps": "two"}
    assert [(s["id"], s["state"]) for s in waited["steps"]] == [("total", "Succeeded")]
