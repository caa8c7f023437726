"""Schedule validation and edits over the API: 422s that name the field, 404s, 409 for a
process without a published revision, PATCH semantics, deletion with the process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.helpers.api import create_process
from tests.helpers.schedules import (
    create_schedule,
    get_schedule,
    patch_schedule,
)

GREET = {
    "inputs": {"who": {"type": "string", "required": True}},
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello {{ inputs.who }}"}}],
}


pytestmark = pytest.mark.usefixtures("delete_schedules")


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"cron": "0 9 * *"}, {"cron"}),
        ({"cron": "61 * * * *"}, {"cron"}),
        ({"cron": "0 9 * * 1-5 2030"}, {"cron"}),
        ({"cron": "@every 5m"}, {"cron"}),  # interval_seconds' job
        ({"cron": "@DAILY"}, {"cron"}),  # Temporal takes its macros in lowercase only
        ({"cron": "@reboot"}, {"cron"}),
        ({"cron": "@daily 9"}, {"cron"}),
        ({"cron": "0 9 * * fri-mon"}, {"cron"}),
        ({"cron": "0 9 31 2 *"}, {"cron"}),  # never fires
        ({"cron": "0 9 31 4,6,9,11 *"}, {"cron"}),
        ({"cron": "0 9 30-31 feb *"}, {"cron"}),
        ({"interval_seconds": 0}, {"interval_seconds"}),
        ({"interval_seconds": 0.5}, {"interval_seconds"}),
        ({"interval_seconds": 21056497270227705856}, {"interval_seconds"}),  # found by schemathesis
        ({"interval_seconds": 10 * 366 * 86_400 + 1}, {"interval_seconds"}),
        ({"interval_seconds": True}, {"interval_seconds"}),  # not a 1-second schedule
        ({"interval_seconds": "60"}, {"interval_seconds"}),
        ({"cron": "0 9 * * *", "interval_seconds": 60}, {"cron", "interval_seconds"}),
        ({}, {"cron", "interval_seconds"}),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, {"timezone"}),
        ({"cron": "0 9 * * *", "timezone": "../../etc/passwd"}, {"timezone"}),
        # files beside the tz database, whose meaning depends on the host (or is nothing)
        ({"cron": "0 9 * * *", "timezone": "localtime"}, {"timezone"}),
        ({"cron": "0 9 * * *", "timezone": "posixrules"}, {"timezone"}),
        ({"cron": "0 9 * * *", "timezone": "right/UTC"}, {"timezone"}),
        ({"cron": "0 9 * * *", "timezone": "Factory"}, {"timezone"}),
        ({"interval_seconds": 60, "overlap": "sometimes"}, {"overlap"}),
        ({"interval_seconds": 60, "paused": "maybe"}, {"paused"}),
        ({"interval_seconds": 60, "colour": "red"}, {"colour"}),
    ],
)
async def test_invalid_schedules_are_422_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, Any], paths: set[str]
) -> None:
    process = await create_process(api, GREET, publish=True)
    response = await api.post(
        f"/v2/processes/{process['id']}/schedules", json={"inputs": {"who": "x"}, **body}
    )
    assert response.status_code == 422, response.text
    assert {d["path"] for d in response.json()["details"]} == paths, response.json()


async def test_inputs_are_checked_against_the_published_definition(
    api: httpx.AsyncClient,
) -> None:
    process = await create_process(api, GREET, publish=True)
    url = f"/v2/processes/{process['id']}/schedules"
    missing = await api.post(url, json={"interval_seconds": 60})
    assert missing.status_code == 422
    assert missing.json()["details"] == [
        {"path": "inputs.who", "message": "required input is missing"}
    ]
    unknown = await api.post(url, json={"interval_seconds": 60, "inputs": {"who": 1, "x": 2}})
    assert unknown.status_code == 422
    assert {d["path"] for d in unknown.json()["details"]} == {"inputs.x", "inputs.who"}
    listed = await api.post(
        url, json={"interval_seconds": 60, "inputs": [{"name": "who", "value": "kognitos"}]}
    )
    assert listed.status_code == 201 and listed.json()["inputs"] == {"who": "kognitos"}


async def test_a_draft_only_process_cannot_be_scheduled(api: httpx.AsyncClient) -> None:
    process = await create_process(api, GREET)
    response = await api.post(
        f"/v2/processes/{process['id']}/schedules",
        json={"interval_seconds": 60, "inputs": {"who": "x"}},
    )
    assert response.status_code == 409
    assert "no published revision" in response.json()["message"]
    assert (await api.get(f"/v2/processes/{process['id']}/schedules")).json()["items"] == []
    unknown = await api.post("/v2/processes/proc-nope/schedules", json={"interval_seconds": 60})
    assert unknown.status_code == 404


async def test_a_draft_schedule_is_refused_with_a_clear_error(api: httpx.AsyncClient) -> None:
    """SPEC §1: schedule + Draft is rejected with a clear error; Published may be said aloud."""
    process = await create_process(api, GREET, publish=True)
    url = f"/v2/processes/{process['id']}/schedules"
    draft = await api.post(
        url, json={"interval_seconds": 60, "inputs": {"who": "x"}, "stage": "Draft"}
    )
    assert draft.status_code == 422, draft.text
    [detail] = draft.json()["details"]
    assert detail["path"] == "stage"
    assert "schedules run the published revision only" in detail["message"]
    assert (await api.get(url)).json()["items"] == []

    schedule = await create_schedule(
        api, process["id"], interval_seconds=60, inputs={"who": "x"}, stage="Published"
    )
    assert schedule["stage"] == "Published"
    patched = await api.patch(f"/v2/schedules/{schedule['id']}", json={"stage": "Draft"})
    assert patched.status_code == 422, patched.text
    assert patched.json()["details"][0]["path"] == "stage"
    assert (await get_schedule(api, schedule["id"]))["stage"] == "Published"


async def test_unknown_schedules_are_404(api: httpx.AsyncClient) -> None:
    for sid in ("sched-0000000000000000000000000a", "not-a-schedule"):
        assert (await api.get(f"/v2/schedules/{sid}")).status_code == 404
        assert (await api.patch(f"/v2/schedules/{sid}", json={"paused": True})).status_code == 404
        assert (await api.post(f"/v2/schedules/{sid}/trigger")).status_code == 404
        assert (await api.delete(f"/v2/schedules/{sid}")).status_code == 404


async def test_patch_edits_only_the_given_fields(api: httpx.AsyncClient) -> None:
    process = await create_process(api, GREET, publish=True)
    sid = (
        await create_schedule(api, process["id"], cron="0 9 * * 1-5", inputs={"who": "a"}, paused=True)
    )["id"]  # fmt: skip

    every = await patch_schedule(api, sid, interval_seconds=3600, note="hourly now")
    assert (every["cron"], every["interval_seconds"], every["note"]) == (None, 3600, "hourly now")
    assert every["paused"] is True and every["inputs"] == {"who": "a"}

    edited = await patch_schedule(
        api, sid, cron="30 6 * * *", timezone="America/New_York", overlap="buffer_one",
        inputs={"who": "b"},
    )  # fmt: skip
    assert (edited["cron"], edited["interval_seconds"]) == ("30 6 * * *", None)
    assert edited["timezone"] == "America/New_York" and edited["overlap"] == "buffer_one"
    assert edited["inputs"] == {"who": "b"} and edited["note"] == "hourly now"
    assert edited["paused"] is True and edited["updated_at"]

    for body, path in [
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"cron": None}, "cron"),
        ({"cron": "0 9 * * *", "interval_seconds": 5}, "interval_seconds"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"interval_seconds": 21056497270227705856}, "interval_seconds"),
        ({"inputs": {"nope": 1}}, "inputs.nope"),
    ]:
        response = await api.patch(f"/v2/schedules/{sid}", json=body)
        assert response.status_code == 422, (body, response.text)
        assert path in {d["path"] for d in response.json()["details"]}, response.json()
    assert await get_schedule(api, sid) == {**edited, "recent_runs": [], "next_run_times": []}


async def test_deleting_the_process_deletes_its_schedules(
    api: httpx.AsyncClient, client: Client
) -> None:
    process = await create_process(api, GREET, publish=True)
    sid = (await create_schedule(api, process["id"], interval_seconds=60, inputs={"who": "d"}))[
        "id"
    ]
    assert (await api.delete(f"/v2/processes/{process['id']}")).status_code == 204
    assert (await api.get(f"/v2/schedules/{sid}")).status_code == 404
    assert [s async for s in await client.list_schedules(f"ProcessId = '{process['id']}'")] == []


async def test_a_foreign_continuation_token_is_422(api: httpx.AsyncClient) -> None:
    process = await create_process(api, GREET, publish=True)
    runs_token = "eyJ0IjoiMDAiLCJxIjoiYWJjIn0"  # {"t": "00", "q": "abc"}: another list's token
    for token in (runs_token, "garbage!"):
        response = await api.get(
            f"/v2/processes/{process['id']}/schedules", params={"continuation_token": token}
        )
        assert response.status_code == 422, response.text
        assert response.json()["details"][0]["path"] == "continuation_token"


async def test_an_every_macro_points_to_interval_seconds(api: httpx.AsyncClient) -> None:
    process = await create_process(api, GREET, publish=True)
    url = f"/v2/processes/{process['id']}/schedules"
    response = await api.post(url, json={"cron": "@every 5m", "inputs": {"who": "x"}})
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert detail["path"] == "cron"
    assert detail["message"] == (
        "'@every 5m': for a schedule that fires every so often give interval_seconds instead "
        "of cron (e.g. 300 for every 5 minutes)"
    )
    upper = await api.post(url, json={"cron": "@Hourly", "inputs": {"who": "x"}})
    [detail] = upper.json()["details"]
    assert detail["message"] == "'@Hourly': Temporal takes its macros in lowercase: '@hourly'"


async def test_a_cron_that_never_fires_says_so(api: httpx.AsyncClient) -> None:
    process = await create_process(api, GREET, publish=True)
    url = f"/v2/processes/{process['id']}/schedules"
    response = await api.post(url, json={"cron": "0 9 31 2 *", "inputs": {"who": "x"}})
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert "never fires: no month in '2' has a day '31'" in detail["message"]
    for fires in ("0 9 29 2 *", "0 9 31 2/2 *", "0 9 31 * *"):  # leap years; Aug, Oct, Dec
        response = await api.post(url, json={"cron": fires, "inputs": {"who": "x"}})
        assert response.status_code == 201, response.text
        assert response.json()["next_run_times"], response.json()  # Temporal agrees
