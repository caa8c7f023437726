"""The step timeline of a finished run: the steps it never reached read as not run (Skipped),
not as still waiting (Pending)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.api import create_process, start_run, wait_for_state


def _states(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(step["id"], step["state"]) for step in run["steps"]]


async def test_steps_after_a_failed_step_did_not_run(
    api: httpx.AsyncClient, worker: object
) -> None:
    definition = {
        "steps": [
            {"id": "check", "uses": "fail", "with": {"message": "no"}},
            {"id": "total", "uses": "set", "with": {"x": 1}},
            {"id": "wait", "uses": "sleep", "with": {"seconds": 1}},
        ]
    }
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    assert done["state"] == "Failed"
    assert _states(done) == [("check", "Failed"), ("total", "Skipped"), ("wait", "Skipped")]
    assert [s["started_at"] for s in done["steps"][1:]] == [None, None]
    waited = await api.get(f"/v2/runs/{done['id']}", params={"wait": 5})  # from its history
    assert _states(waited.json()) == _states(done)


async def test_steps_after_a_cancelled_step_did_not_run(
    api: httpx.AsyncClient, worker: object
) -> None:
    definition = {
        "steps": [
            {"id": "wait", "uses": "sleep", "with": {"seconds": 60}},
            {"id": "total", "uses": "set", "with": {"x": 1}},
        ]
    }
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    running = await wait_for_state(api, run["id"], "Running")
    assert _states(running) == [("wait", "Running"), ("total", "Pending")]  # still to come
    assert (await api.post(f"/v2/runs/{run['id']}/cancel")).status_code == 202
    done = await wait_for_state(api, run["id"])
    assert _states(done) == [("wait", "Cancelled"), ("total", "Skipped")]
