"""The ``process`` step through the API against the real dev server: child runs are runs."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.helpers import assert_eventually
from tests.helpers.api import create_process, get_run, start_run, wait_for_state
from worker import SANDBOX, WORKFLOWS


async def get_process(api: httpx.AsyncClient, process_id: str) -> dict[str, Any]:
    return (await api.get(f"/v2/processes/{process_id}")).json()


async def _list(api: httpx.AsyncClient, process_id: str) -> list[dict[str, Any]]:
    response = await api.get("/v2/runs", params={"process_id": process_id, "limit": 100})
    return response.json()["items"]


CHILD = {
    "inputs": {"n": {"type": "integer", "required": True}},
    "steps": [
        {"id": "double", "uses": "set", "with": {"value": "{{ inputs.n * 2 }}"}},
        {"id": "check", "if": "{{ inputs.n < 0 }}", "uses": "fail",
         "with": {"message": "negative: {{ inputs.n }}"}},
    ],
    "outputs": {"doubled": "{{ steps.double.value }}", "run": "{{ run.name }}"},
}  # fmt: skip


def _parent(child_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "inputs": {"n": {"type": "integer", "default": 21}},
        "steps": [
            {
                "id": "call",
                "uses": "process",
                "with": {"process_id": child_id, "inputs": {"n": "{{ inputs.n }}"}, **extra},
            },
            {"id": "after", "uses": "set", "with": {"plus_one": "{{ steps.call.doubled + 1 }}"}},
        ],
        "outputs": {"child": "{{ steps.call }}", "plus_one": "{{ steps.after.plus_one }}"},
    }


async def test_parent_returns_the_childs_outputs_and_the_child_is_a_run(
    api: httpx.AsyncClient, worker: object, client: Client
) -> None:
    child = await create_process(api, CHILD, publish=True, name="doubler")
    parent = await create_process(api, _parent(child["id"]))
    run = await start_run(api, parent["id"], trigger="manual")
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    child_run_id = done["steps"][0]["child_run_id"]
    assert done["outputs"] == {
        "child": {"doubled": 42, "run": f"doubler (step call of {run['name']})"},
        "plus_one": 43,
    }

    child_run = await get_run(api, child_run_id)
    assert child_run["state"] == "Succeeded"
    assert child_run["parent_run_id"] == run["id"]
    assert child_run["trigger"] == "manual"  # the parent's trigger
    assert (child_run["process_id"], child_run["stage"], child_run["revision"]) == (
        child["id"],
        "Published",
        1,
    )
    assert child_run["inputs"] == {"n": 21}
    listed = await assert_eventually(
        lambda: _list(api, child["id"]), lambda items: any(r["state"] == "Succeeded" for r in items)
    )
    assert [(r["id"], r["parent_run_id"]) for r in listed] == [(child_run_id, run["id"])]

    # The parent's history replays: the child's id and start options are deterministic.
    history = await client.get_workflow_handle(run["id"]).fetch_history()
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=SANDBOX, data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(history)


async def test_child_failure_fails_the_parent_naming_the_step(
    api: httpx.AsyncClient, worker: object
) -> None:
    child = await create_process(api, CHILD, publish=True)
    parent = await create_process(api, _parent(child["id"]))
    run = await start_run(api, parent["id"], inputs={"n": -5})
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed"
    assert done["error"]["step"] == "call"
    assert "step 'check' failed: negative: -5" in done["error"]["message"]
    child_run = await get_run(api, done["steps"][0]["child_run_id"])
    assert child_run["state"] == "Failed" and child_run["error"]["step"] == "check"
    assert [s["state"] for s in done["steps"]] == ["Failed", "Skipped"]  # "after": not run


async def test_child_input_errors_and_missing_revisions_fail_the_step(
    api: httpx.AsyncClient, worker: object
) -> None:
    child = await create_process(api, CHILD)  # never published
    parent = await create_process(api, _parent(child["id"]))
    done = await wait_for_state(api, (await start_run(api, parent["id"]))["id"])
    assert done["state"] == "Failed" and done["error"]["step"] == "call"
    assert "no published revision" in done["error"]["message"]

    draft = await create_process(api, _parent(child["id"], stage="Draft"))
    run = await start_run(api, draft["id"], inputs={"n": 1})
    assert (await wait_for_state(api, run["id"]))["outputs"]["plus_one"] == 3

    bad = _parent(child["id"], stage="Draft")
    bad["steps"][0]["with"]["inputs"] = {"n": "{{ 'many' }}"}
    bad_parent = await create_process(api, bad)
    done = await wait_for_state(api, (await start_run(api, bad_parent["id"]))["id"])
    assert done["state"] == "Failed" and done["error"]["step"] == "call"
    assert "inputs.n" in done["error"]["message"]


async def start_with_running_child(
    api: httpx.AsyncClient, parent_id: str
) -> tuple[dict[str, Any], str]:
    """Start a run of ``parent_id`` and wait until its first step's child run is Running."""
    run = await start_run(api, parent_id)
    running = await assert_eventually(
        lambda: get_run(api, run["id"]),
        lambda r: bool(r["steps"] and r["steps"][0]["child_run_id"]),
    )
    child_run_id: str = running["steps"][0]["child_run_id"]
    await wait_for_state(api, child_run_id, "Running")
    return run, child_run_id


async def test_cancelling_the_parent_cancels_the_child(
    api: httpx.AsyncClient, worker: object
) -> None:
    sleeper = await create_process(
        api, {"steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 120}}]}, publish=True
    )
    parent = await create_process(
        api, {"steps": [{"id": "call", "uses": "process", "with": {"process_id": sleeper["id"]}}]}
    )
    run, child_run_id = await start_with_running_child(api, parent["id"])

    assert (await api.post(f"/v2/runs/{run['id']}/cancel")).status_code == 202
    assert (await wait_for_state(api, run["id"]))["state"] == "Cancelled"
    child_run = await wait_for_state(api, child_run_id)
    assert child_run["state"] == "Cancelled"
    assert child_run["steps"][0]["state"] == "Cancelled"


async def test_a_child_cancelled_or_timed_out_on_its_own_fails_the_step(
    api: httpx.AsyncClient, worker: object
) -> None:
    sleeper = await create_process(
        api,
        {"timeout": 60, "steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 120}}]},
        publish=True,
    )
    parent = await create_process(
        api, {"steps": [{"id": "call", "uses": "process", "with": {"process_id": sleeper["id"]}}]}
    )
    run, child_run_id = await start_with_running_child(api, parent["id"])
    assert (await api.post(f"/v2/runs/{child_run_id}/cancel")).status_code == 202
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed" and done["error"]["step"] == "call"
    assert f"child run {child_run_id} was cancelled" in done["error"]["message"]

    await _save(
        api,
        sleeper["id"],
        {"timeout": 1, "steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 120}}]},
    )
    await api.post(f"/v2/processes/{sleeper['id']}/publish")
    done = await wait_for_state(api, (await start_run(api, parent["id"]))["id"], timeout=20)
    assert done["state"] == "Failed" and done["error"]["step"] == "call"
    child_run = await get_run(api, done["steps"][0]["child_run_id"])
    assert child_run["state"] == "TimedOut"
    assert f"child run {child_run['id']} timed out" in done["error"]["message"]


async def test_the_parents_timeout_bounds_the_child(api: httpx.AsyncClient, worker: object) -> None:
    sleeper = await create_process(
        api, {"steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 120}}]}, publish=True
    )
    parent = await create_process(
        api,
        {"timeout": 2,
         "steps": [{"id": "call", "uses": "process", "with": {"process_id": sleeper["id"]}}]},
    )  # fmt: skip
    run = await start_run(api, parent["id"])
    done = await wait_for_state(api, run["id"], timeout=20)
    assert done["state"] == "TimedOut"
    child_run = await wait_for_state(api, done["steps"][0]["child_run_id"], timeout=20)
    assert child_run["state"] in {"TimedOut", "Cancelled"}
    assert child_run["ended_at"] is not None


async def test_templated_recursion_stops_at_the_depth_limit(
    api: httpx.AsyncClient, worker: object
) -> None:
    definition = {
        "steps": [
            {"id": "again", "uses": "process",
             "with": {"process_id": "{{ run.process_id }}", "stage": "Draft"}},
        ]
    }  # fmt: skip
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    done = await wait_for_state(api, run["id"], timeout=60)
    assert done["state"] == "Failed" and done["error"]["step"] == "again"
    assert "process calls nest deeper than 10 levels" in done["error"]["message"]
    # The root and ten nested child runs, all ended (visibility may lag a moment).
    await assert_eventually(
        lambda: _list(api, process["id"]),
        lambda items: len(items) == 11 and all(r["state"] == "Failed" for r in items),
    )


def _calls(*targets: str) -> dict[str, Any]:
    return {
        "steps": [
            {"id": f"call_{i}", "uses": "process", "with": {"process_id": target}}
            for i, target in enumerate(targets)
        ]
    }


async def _save(api: httpx.AsyncClient, process_id: str, definition: dict) -> httpx.Response:
    return await api.put(f"/v2/processes/{process_id}/draft", json={"definition": definition})


async def test_call_cycles_are_refused_when_saved(api: httpx.AsyncClient) -> None:
    a = await create_process(api, {}, name="alpha")
    b = await create_process(api, _calls(a["id"]), name="beta")
    c = await create_process(api, _calls(b["id"]), name="gamma")

    itself = await _save(api, a["id"], _calls(a["id"]))
    assert itself.status_code == 422
    assert itself.json()["details"] == [
        {"path": "definition.steps[0].with.process_id",
         "message": "a process cannot call itself: 'alpha' → 'alpha'"}
    ]  # fmt: skip

    cycle = await _save(api, a["id"], {**_calls(a["id"]), **_calls(b["id"], c["id"])})
    assert cycle.status_code == 422
    assert cycle.json()["details"] == [
        {"path": "definition.steps[0].with.process_id",
         "message": "'beta' calls this process back: 'alpha' → 'beta' → 'alpha'"},
        {"path": "definition.steps[1].with.process_id",
         "message": "'gamma' calls this process back: 'alpha' → 'gamma' → 'beta' → 'alpha'"},
    ]  # fmt: skip
    assert (await get_process(api, a["id"]))["draft_revision"] == 1  # nothing saved


async def test_published_calls_count_too(api: httpx.AsyncClient) -> None:
    a = await create_process(api, {}, name=f"a-{uuid.uuid4().hex[:6]}")
    b = await create_process(api, _calls(a["id"]), publish=True)
    assert (await _save(api, b["id"], {})).status_code == 200  # the draft no longer calls a ...
    refused = await _save(api, a["id"], _calls(b["id"]))  # ... but the published revision does
    assert refused.status_code == 422
    assert "calls this process back" in refused.json()["details"][0]["message"]


async def test_unknown_literal_process_is_refused_templated_is_not(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v2/processes", json={"name": "caller", "definition": _calls("proc-nope")}
    )
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"path": "definition.steps[0].with.process_id",
         "message": "process 'proc-nope' does not exist"}
    ]  # fmt: skip
    templated = _calls("{{ inputs.target }}")
    templated["inputs"] = {"target": {"type": "string"}}
    await create_process(api, templated)


async def test_process_step_arguments_are_validated(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v2/processes",
        json={"name": "bad", "definition": {"steps": [
            {"id": "call", "uses": "process", "with": {"stage": "Live", "inputs": [1]}}]}},
    )  # fmt: skip
    assert response.status_code == 422
    paths = [d["path"] for d in response.json()["details"]]
    assert paths == [
        "definition.steps[0].with.process_id",
        "definition.steps[0].with.stage",
        "definition.steps[0].with.inputs",
    ]
