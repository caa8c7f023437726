"""``GET /v2/runs`` with a filter repeated (``state=Failed&state=TimedOut``): runs with any of
its values, nothing else, page after page, with or without archived runs; a bad or repeated
value is a 422 naming it, and the parameters that take one value still refuse two."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import Client

from openruns.services import run_start
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import Database
from tests.helpers import assert_eventually
from tests.helpers.actions import act, list_ids
from tests.helpers.api import create_process, start_run, wait_for_state

# ok succeeds, fail fails, slow outlives the process's 2 s timeout.
MODES: dict[str, Any] = {
    "timeout": 2,
    "inputs": {"mode": {"type": "string", "default": "ok"}},
    "steps": [
        {"id": "fail", "uses": "fail", "if": "{{ inputs.mode == 'fail' }}",
         "with": {"message": "failed on purpose"}},
        {"id": "nap", "uses": "sleep", "if": "{{ inputs.mode == 'slow' }}",
         "with": {"seconds": 30}},
    ],
}  # fmt: skip
SLEEPY = {key: value for key, value in MODES.items() if key != "timeout"}
FAILED_OR_TIMED_OUT = {"state": ["Failed", "TimedOut"]}


async def _runs(api: httpx.AsyncClient, process_id: str, *modes: str) -> dict[str, list[str]]:
    """Runs of ``process_id`` in these modes, ended; their ids by final state."""
    started = [await start_run(api, process_id, inputs={"mode": mode}) for mode in modes]
    by_state: dict[str, list[str]] = {}
    for run in started:
        done = await wait_for_state(api, run["id"])
        by_state.setdefault(done["state"], []).append(run["id"])
    return by_state


async def test_runs_in_any_of_several_states(
    api: httpx.AsyncClient,
    worker: object,
    client: Client,
    settings: Settings,
    database: Database,
) -> None:
    process = await create_process(api, MODES)
    pid = process["id"]
    runs = await _runs(api, pid, "ok", "fail", "slow", "ok", "fail", "slow")
    assert {state: len(ids) for state, ids in runs.items()} == {
        "Succeeded": 2, "Failed": 2, "TimedOut": 2,
    }  # fmt: skip
    # Elsewhere: a timed-out run of another process, and a failed test run of this one.
    other = await create_process(api, MODES)
    decoy = await _runs(api, other["id"], "slow")
    assert list(decoy) == ["TimedOut"]
    async with database.sessions() as session:
        test_run = await run_start.start_run(
            client, session, settings,
            run_start.StartRequest(process_id=pid, stage=Stage.DRAFT, trigger=Trigger.TEST,
                                   inputs={"mode": "fail"}),
        )  # fmt: skip
    assert (await wait_for_state(api, test_run.run.id))["state"] == "Failed"
    wanted = set(runs["Failed"] + runs["TimedOut"])
    await assert_eventually(  # visibility indexes the ends a moment later
        lambda: list_ids(api, process_id=pid, **FAILED_OR_TIMED_OUT),
        lambda ids: set(ids) == wanted,
    )

    one_page = await list_ids(api, process_id=pid, limit=100, **FAILED_OR_TIMED_OUT)
    assert len(one_page) == 4 and set(one_page) == wanted  # both states, nothing else
    for archived in ("false", "all"):
        paged = await list_ids(
            api, process_id=pid, limit=1, archived=archived, **FAILED_OR_TIMED_OUT
        )
        assert paged == one_page, archived  # the same runs in the same order, a run a page
    reversed_order = {"state": ["TimedOut", "Failed"]}
    assert await list_ids(api, process_id=pid, **reversed_order) == one_page
    assert set(await list_ids(api, state="TimedOut", process_id=pid)) == set(runs["TimedOut"])

    # Test runs only when asked for, and then with the others asked for.
    with_tests = await list_ids(api, process_id=pid, trigger=["api", "test"], state="Failed")
    assert set(with_tests) == {*runs["Failed"], test_run.run.id}
    assert await list_ids(api, process_id=pid, trigger="test") == [test_run.run.id]
    assert set(await list_ids(api, process_id=pid, stage=["Draft", "Published"])) == {
        run_id for ids in runs.values() for run_id in ids
    }

    # A token is bound to its filters: the same states in another order take it, fewer don't.
    first = await api.get("/v2/runs", params={"process_id": pid, "limit": 1, **FAILED_OR_TIMED_OUT})
    token = first.json()["continuation_token"]
    assert token
    same = await api.get(
        "/v2/runs",
        params={"process_id": pid, "limit": 1, **reversed_order, "continuation_token": token},
    )
    assert same.status_code == 200 and same.json()["items"][0]["id"] == one_page[1]
    fewer = await api.get(
        "/v2/runs",
        params={"process_id": pid, "limit": 1, "state": "Failed", "continuation_token": token},
    )
    assert fewer.status_code == 422 and "different query" in fewer.json()["message"]

    # With a run archived: the default list pages around it, archived=true lists only it.
    archived_run = runs["Failed"][0]
    [result] = await act(api, "archive", [archived_run])
    assert result["ok"], result
    rest = [run_id for run_id in one_page if run_id != archived_run]
    assert await list_ids(api, process_id=pid, limit=1, **FAILED_OR_TIMED_OUT) == rest
    only = await list_ids(api, process_id=pid, limit=1, archived="true", **FAILED_OR_TIMED_OUT)
    assert only == [archived_run]
    assert await list_ids(api, process_id=pid, limit=1, archived="all", **FAILED_OR_TIMED_OUT) == (
        one_page
    )


async def test_unfinished_and_finished_states_together(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, SLEEPY)
    pid = process["id"]
    runs = await _runs(api, pid, "ok", "fail")
    sleeper = await start_run(api, pid, inputs={"mode": "slow"})
    await wait_for_state(api, sleeper["id"], "Running")
    either = {"process_id": pid, "state": ["Running", "Failed"]}
    await assert_eventually(
        lambda: list_ids(api, **either), lambda ids: ids == [sleeper["id"], *runs["Failed"]]
    )
    assert await list_ids(api, limit=1, **either) == [sleeper["id"], *runs["Failed"]]
    [result] = await act(api, "archive", [sleeper["id"]])
    assert result["ok"], result
    assert await list_ids(api, limit=1, **either) == runs["Failed"]
    assert await list_ids(api, limit=1, archived="true", **either) == [sleeper["id"]]
    assert await list_ids(api, process_id=pid, state=["Pending", "Succeeded"]) == runs["Succeeded"]
    await act(api, "cancel", [sleeper["id"]])


async def test_a_bad_or_repeated_value_is_a_422_naming_it(api: httpx.AsyncClient) -> None:
    async def details(query: str) -> tuple[str, list[dict[str, str]]]:
        response = await api.get(f"/v2/runs?{query}")
        assert response.status_code == 422, (query, response.text)
        return response.json()["message"], response.json()["details"]

    _, bad = await details("state=Failed&state=Timedout")
    assert bad == [
        {
            "path": "query.state[1]",
            "message": "Input should be 'Pending', 'Running', 'Succeeded', 'Failed', "
            "'Cancelled' or 'TimedOut' (got 'Timedout')",
        }
    ]
    _, bad = await details("trigger=api&trigger=cron")
    assert [(d["path"], d["message"].endswith("(got 'cron')")) for d in bad] == [
        ("query.trigger[1]", True)
    ]
    message, twice = await details("state=Failed&state=TimedOut&state=Failed")
    assert message == "query parameter 'state' gives 'Failed' more than once"
    assert twice == [{"path": "state", "message": "given more than once"}]
    for single in (
        "limit=1&limit=2",
        "q=a&q=b",
        "archived=all&archived=true",
        "process_id=a&process_id=b",
    ):
        message, _ = await details(single)
        assert message.endswith("is given more than once"), single
