"""``POST /v2/runs/actions`` against the real dev server and worker: re-run, archive,
unarchive, add test case, cancel — per-run results, never a failed call for one bad id."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from temporalio.client import Client

from email_gateway.server import Gateway
from openruns import search_attributes as attrs
from openruns.models import ProcessRunInput
from openruns.services.run_records import WORKFLOW_TYPE
from openruns.services.run_start import launch, start_options
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import Database
from tests.helpers import assert_eventually
from tests.helpers.actions import act, list_ids
from tests.helpers.api import create_process, get_run, start_run, wait_for_state
from tests.helpers.smtp import make_message, send

CHECK = {
    "inputs": {"amount": {"type": "number", "required": True}},
    "steps": [
        {"id": "check", "uses": "fail", "if": "{{ inputs.amount > 100 }}",
         "with": {"message": "amount {{ inputs.amount }} is over the limit"}},
    ],
    "outputs": {"amount": "{{ inputs.amount }}", "version": 1},
}  # fmt: skip
SLEEPY = {
    "steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 4}}],
    "outputs": {"rested": True},
}


def _scheduled(process: dict[str, Any], amount: int, schedule_id: str) -> ProcessRunInput:
    """What a Temporal Schedule starts: no definition; the published revision is resolved when
    the run starts."""
    return ProcessRunInput(
        process_id=process["id"], process_name=process["name"], stage=Stage.PUBLISHED,
        inputs={"amount": amount}, trigger=Trigger.SCHEDULE, name="nightly",
        schedule_id=schedule_id,
    )  # fmt: skip


async def test_rerun_of_a_failed_run_repeats_its_revision_and_inputs(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, CHECK)
    failed = await wait_for_state(
        api, (await start_run(api, process["id"], inputs={"amount": 500}))["id"]
    )
    assert failed["state"] == "Failed"
    # The draft now accepts any amount: a re-run must still execute revision 1.
    relaxed = {**CHECK, "steps": [], "outputs": {"amount": "{{ inputs.amount }}", "version": 2}}
    response = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": relaxed})
    assert response.json()["draft_revision"] == 2

    [result] = await act(api, "rerun", [failed["id"]])
    assert result["ok"] is True, result
    rerun = result["run"]
    assert rerun["id"] != failed["id"] and rerun["rerun_of"] == failed["id"]
    done = await wait_for_state(api, rerun["id"])
    assert done["state"] == "Failed"
    assert done["error"]["message"] == failed["error"]["message"]
    assert (done["revision"], done["stage"], done["trigger"]) == (1, "Draft", "manual")
    assert done["inputs"] == {"amount": 500} and done["rerun_of"] == failed["id"]

    # A fresh run of the draft takes revision 2; a re-run of the re-run stays on revision 1.
    [again] = await act(api, "rerun", [rerun["id"]])
    assert (await wait_for_state(api, again["run"]["id"]))["revision"] == 1


async def test_rerun_with_an_idempotency_key_starts_one_run(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, CHECK)
    run = await wait_for_state(
        api, (await start_run(api, process["id"], inputs={"amount": 1}))["id"]
    )
    body = {"action": "rerun", "run_ids": [run["id"]]}
    headers = {"Idempotency-Key": "retry-me"}
    first = (await api.post("/v2/runs/actions", json=body, headers=headers)).json()
    second = (await api.post("/v2/runs/actions", json=body, headers=headers)).json()
    rerun_id = first["results"][0]["run"]["id"]
    assert second["results"][0]["run"]["id"] == rerun_id
    assert (await wait_for_state(api, rerun_id))["outputs"] == {"amount": 1, "version": 1}
    listed = await list_ids(api, process_id=process["id"])
    assert sorted(listed) == sorted([run["id"], rerun_id])


async def test_archive_a_sleeping_run_it_still_succeeds(
    api: httpx.AsyncClient, worker: object, client: Client
) -> None:
    process = await create_process(api, SLEEPY)
    run = await start_run(api, process["id"])
    await wait_for_state(api, run["id"], "Running")

    [archived] = await act(api, "archive", [run["id"]])
    assert archived["ok"] and archived["run"]["archived"] is True
    assert archived["run"]["state"] in {"Pending", "Running"}, "archive it mid-sleep"
    # The running run tags itself, so the visibility query already leaves it out.
    await assert_eventually(
        lambda: client.get_workflow_handle(run["id"]).describe(),
        lambda d: d.typed_search_attributes.get(attrs.RUN_ARCHIVED) is True,
        message="RunArchived set on the running run",
    )
    assert run["id"] not in await list_ids(api, process_id=process["id"])
    assert await list_ids(api, process_id=process["id"], archived="true") == [run["id"]]
    assert (await get_run(api, run["id"]))["archived"] is True

    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded" and done["outputs"] == {"rested": True}
    assert done["archived"] is True and done["archived_at"] == archived["run"]["archived_at"]
    assert await list_ids(api, process_id=process["id"]) == []
    assert await list_ids(api, process_id=process["id"], archived="all") == [run["id"]]

    [again] = await act(api, "archive", [run["id"]])  # idempotent: same archived_at
    assert again["ok"] and again["run"]["archived_at"] == archived["run"]["archived_at"]
    [restored] = await act(api, "unarchive", [run["id"]])
    assert restored["ok"] and restored["run"]["archived"] is False
    assert await list_ids(api, process_id=process["id"]) == [run["id"]]
    assert await list_ids(api, process_id=process["id"], archived="true") == []
    done = await get_run(api, run["id"])
    assert done["archived"] is False and done["archived_at"] is None
    [twice] = await act(api, "unarchive", [run["id"]])
    assert twice["ok"]


async def test_mixed_batch_gets_a_result_per_run(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, CHECK)
    good = await wait_for_state(
        api, (await start_run(api, process["id"], inputs={"amount": 7}))["id"]
    )
    sleepy = await create_process(api, SLEEPY)
    running = await start_run(api, sleepy["id"])
    await wait_for_state(api, running["id"], "Running")

    ids = [good["id"], "run-does-not-exist", running["id"], "not a 'run' id"]
    results = {r["run_id"]: r for r in await act(api, "add_test_case", ids)}
    assert results[good["id"]]["ok"] is True
    case = results[good["id"]]["test_case"]
    assert case["source_run_id"] == good["id"] and case["process_id"] == process["id"]
    assert case["inputs"] == {"amount": 7}
    assert case["expected_outputs"] == {"amount": 7, "version": 1}
    assert results["run-does-not-exist"] == {
        "run_id": "run-does-not-exist", "ok": False, "status": 404,
        "error": "run 'run-does-not-exist' not found", "run": None, "test_case": None,
    }  # fmt: skip
    assert results["not a 'run' id"]["status"] == 404
    assert results[running["id"]]["ok"] is False and results[running["id"]]["status"] == 409
    assert results[running["id"]]["error"] == (
        "run is Running; only Succeeded runs can become test cases"
    )

    # Idempotent: the same run again is the same test case.
    [same] = await act(api, "add_test_case", [good["id"]])
    assert same["test_case"]["id"] == case["id"]

    cancelled = {r["run_id"]: r for r in await act(api, "cancel", ids)}
    assert cancelled[running["id"]]["ok"] is True
    assert cancelled[good["id"]]["status"] == 409
    assert "already finished" in cancelled[good["id"]]["error"]
    assert cancelled["run-does-not-exist"]["status"] == 404
    assert (await wait_for_state(api, running["id"]))["state"] == "Cancelled"

    archived = {r["run_id"]: r for r in await act(api, "archive", ids)}
    assert [archived[i]["ok"] for i in ids] == [True, False, True, False]
    reruns = {r["run_id"]: r for r in await act(api, "rerun", [good["id"], "run-nope"])}
    assert reruns[good["id"]]["ok"] and reruns["run-nope"]["status"] == 404


async def test_rerun_of_an_unfinished_run_is_refused(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, SLEEPY)
    run = await start_run(api, process["id"])
    await wait_for_state(api, run["id"], "Running")
    [result] = await act(api, "rerun", [run["id"]])
    assert result["ok"] is False and result["status"] == 409
    assert result["error"] == "run is Running; only finished runs can be re-run (cancel it first)"
    await act(api, "cancel", [run["id"]])


async def test_bad_requests_are_422(api: httpx.AsyncClient) -> None:
    too_many = [f"run-{i}" for i in range(501)]
    for body, path in [
        ({"action": "archive", "run_ids": too_many}, "run_ids"),
        ({"action": "archive", "run_ids": []}, "run_ids"),
        ({"action": "explode", "run_ids": ["run-1"]}, "action"),
        ({"action": "archive", "run_ids": ["run-1"], "compare": ["x"]}, "compare"),
        ({"action": "add_test_case", "run_ids": ["run-1"], "compare": []}, "compare"),
    ]:
        response = await api.post("/v2/runs/actions", json=body)
        assert response.status_code == 422, body
        assert path in [d["path"] for d in response.json()["details"]], response.json()
    response = await api.post(
        "/v2/runs/actions", json={"action": "archive", "run_ids": [f"run-{i}" for i in range(500)]}
    )
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {404}


async def test_rerun_of_a_scheduled_run_uses_the_revision_it_resolved(
    api: httpx.AsyncClient, worker: object, client: Client, settings: Settings
) -> None:
    process = await create_process(api, CHECK, publish=True)
    scheduled = _scheduled(process, 3, f"sch-{uuid.uuid4().hex}")
    await launch(client, settings, "run-scheduled-" + process["id"], scheduled)
    original = await wait_for_state(api, "run-scheduled-" + process["id"])
    assert (original["state"], original["revision"]) == ("Succeeded", 1)
    relaxed = {**CHECK, "outputs": {"amount": 0, "version": 2}}
    await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": relaxed})
    await api.post(f"/v2/processes/{process['id']}/publish")

    [result] = await act(api, "rerun", [original["id"]])
    done = await wait_for_state(api, result["run"]["id"])
    assert done["outputs"] == {"amount": 3, "version": 1} and done["revision"] == 1
    assert (done["trigger"], done["schedule_id"], done["name"]) == ("manual", None, "nightly")


async def test_rerun_of_a_scheduled_run_that_never_started_runs_the_published_revision(
    api: httpx.AsyncClient, worker: object, client: Client, settings: Settings
) -> None:
    """A scheduled run that timed out before any worker picked it up never resolved a
    revision; re-running it does what its schedule would do now (SPEC: re-run works for runs
    in any final state)."""
    process = await create_process(api, CHECK, publish=True)
    scheduled = _scheduled(process, 5, f"sch-{uuid.uuid4().hex}")
    run_id = "run-never-started-" + process["id"]
    await client.start_workflow(
        WORKFLOW_TYPE,
        scheduled,
        id=run_id,
        task_queue=f"nobody-polls-{uuid.uuid4().hex}",
        execution_timeout=timedelta(seconds=1),
        **start_options(scheduled),
    )
    original = await wait_for_state(api, run_id)
    assert (original["state"], original["revision"]) == ("TimedOut", None)
    await api.put(
        f"/v2/processes/{process['id']}/draft", json={"definition": {**CHECK, "outputs": {"v": 2}}}
    )
    await api.post(f"/v2/processes/{process['id']}/publish")

    [result] = await act(api, "rerun", [run_id])
    assert result["ok"], result
    done = await wait_for_state(api, result["run"]["id"])
    assert (done["state"], done["revision"], done["outputs"]) == ("Succeeded", 2, {"v": 2})
    assert done["inputs"] == {"amount": 5} and done["rerun_of"] == run_id


async def test_runs_of_a_deleted_process_are_not_re_run(
    api: httpx.AsyncClient, worker: object, client: Client, settings: Settings
) -> None:
    process = await create_process(api, CHECK, publish=True)
    by_api = await wait_for_state(
        api, (await start_run(api, process["id"], inputs={"amount": 1}))["id"]
    )
    scheduled = _scheduled(process, 2, f"sch-{uuid.uuid4().hex}")
    await launch(client, settings, "run-sched-deleted-" + process["id"], scheduled)
    by_schedule = await wait_for_state(api, "run-sched-deleted-" + process["id"])
    assert (await api.delete(f"/v2/processes/{process['id']}")).status_code == 204

    results = await act(api, "rerun", [by_api["id"], by_schedule["id"]])
    assert [(r["ok"], r["status"]) for r in results] == [(False, 404), (False, 404)], results
    assert all(process["id"] in r["error"] for r in results)


async def test_rerun_of_an_email_run_keeps_its_email_and_is_found_by_sender(
    api: httpx.AsyncClient, worker: object, client: Client, settings: Settings, database: Database
) -> None:
    """A re-run repeats the inputs (``inputs.email`` too), so it shows the same email (sender,
    subject, Message-ID) and ``q`` finds it by the same words as the original."""
    echo = {"outputs": {"subject": "{{ inputs.email.subject }}"}}
    process = await create_process(api, echo, publish=True)
    address, sender = process["email_address"], f"x{uuid.uuid4().hex[:8]}@customer.test"
    message = make_message(sender, address, "Order 7", message_id=f"<{uuid.uuid4()}@c.test>")
    async with Gateway(settings, database, client, host="127.0.0.1", port=0) as gateway:
        delivery = await send(gateway.port, sender, address, message)
    assert delivery.code == 250, delivery
    original = await wait_for_state(api, delivery.text.split()[-1])
    assert original["email"] == {
        "sender": sender,
        "subject": "Order 7",
        "message_id": message["Message-ID"],
    }

    [result] = await act(api, "rerun", [original["id"]])
    assert result["ok"], result
    assert result["run"]["email"] == original["email"]
    done = await wait_for_state(api, result["run"]["id"])
    assert (done["state"], done["trigger"]) == ("Succeeded", "manual")
    assert done["email"] == original["email"]
    assert done["inputs"] == original["inputs"] and done["outputs"] == {"subject": "Order 7"}
    await assert_eventually(
        lambda: list_ids(api, q=sender),
        lambda ids: set(ids) == {original["id"], done["id"]},
        message="both runs found by the sender",
    )


async def test_rerun_on_the_current_revision_after_a_fix(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, CHECK, publish=True)
    failed = await wait_for_state(
        api, (await start_run(api, process["id"], "Published", inputs={"amount": 150}))["id"]
    )
    assert failed["state"] == "Failed" and failed["revision"] == 1

    fixed = {**CHECK, "steps": [], "outputs": {"amount": "{{ inputs.amount }}", "version": 2}}
    saved = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": fixed})
    assert saved.status_code == 200, saved.text
    [draft_result] = await act(api, "rerun", [failed["id"]], stage="Draft")
    assert draft_result["ok"], draft_result
    assert (draft_result["run"]["stage"], draft_result["run"]["revision"]) == ("Draft", 2)
    assert (await api.post(f"/v2/processes/{process['id']}/publish")).status_code == 200

    [same, current] = [
        (await act(api, "rerun", [failed["id"]], **option))[0]
        for option in ({}, {"stage": "Published"})
    ]
    again = await wait_for_state(api, same["run"]["id"])
    assert (again["state"], again["revision"]) == ("Failed", 1)  # the same revision, by default
    done = await wait_for_state(api, current["run"]["id"])
    assert (done["state"], done["stage"], done["revision"]) == ("Succeeded", "Published", 2)
    assert done["outputs"] == {"amount": 150, "version": 2}
    assert (done["rerun_of"], done["trigger"], done["inputs"]) == (
        failed["id"], "manual", {"amount": 150}
    )  # fmt: skip
    drafted = await wait_for_state(api, draft_result["run"]["id"])
    assert (drafted["state"], drafted["outputs"]["version"]) == ("Succeeded", 2)


async def test_rerun_on_a_revision_the_inputs_do_not_fit_says_why(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, CHECK)
    run = await wait_for_state(
        api, (await start_run(api, process["id"], "Draft", inputs={"amount": 5}))["id"]
    )
    currency = {"type": "string", "required": True}
    stricter = {**CHECK, "inputs": {"amount": {"type": "number"}, "currency": currency}}
    saved = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": stricter})
    assert saved.status_code == 200, saved.text

    [result] = await act(api, "rerun", [run["id"]], stage="Draft")
    assert (result["ok"], result["status"]) == (False, 422)
    assert result["error"] == (
        "the original's inputs do not fit revision 2: inputs.currency: required input is missing"
    )
    [unpublished] = await act(api, "rerun", [run["id"]], stage="Published")
    assert not unpublished["ok"] and unpublished["status"] in (404, 409), unpublished
    assert "published" in unpublished["error"].lower()

    refused = await api.post(
        "/v2/runs/actions", json={"action": "archive", "run_ids": [run["id"]], "stage": "Draft"}
    )
    assert refused.status_code == 422
    assert refused.json()["details"] == [{"path": "stage", "message": "not used by archive"}]
