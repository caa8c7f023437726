"""Schedules over the API against the real dev server: every schedule is a Temporal Schedule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from openruns.settings import Settings
from tests.helpers import assert_eventually
from tests.helpers.api import create_process, get_run
from tests.helpers.schedules import (
    create_schedule,
    delete_schedules_on,
    get_schedule,
    patch_schedule,
    scheduled_runs,
)

GREET = {
    "inputs": {"who": {"type": "string", "required": True}},
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello {{ inputs.who }}"}}],
    "outputs": {"greeting": "{{ steps.greet.text }}", "revision": "{{ run.revision }}"},
}


@pytest.fixture(autouse=True)
async def _delete_schedules(client: Client, settings: Settings) -> AsyncIterator[None]:
    yield
    await delete_schedules_on(client, settings.task_queue)


def succeeded(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if r["state"] == "Succeeded"]


async def test_interval_schedule_runs_the_published_revision(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, GREET, publish=True)
    schedule = await create_schedule(
        api, process["id"], interval_seconds=2, inputs={"who": "sched"}, note="every 2 s"
    )
    assert schedule["id"].startswith("sched-")
    assert schedule["process_id"] == process["id"]
    assert (schedule["interval_seconds"], schedule["cron"]) == (2, None)
    assert schedule["inputs"] == {"who": "sched"} and schedule["note"] == "every 2 s"
    assert schedule["overlap"] == "skip" and schedule["paused"] is False
    assert schedule["timezone"] == "UTC" and len(schedule["next_run_times"]) == 5

    runs = await assert_eventually(
        lambda: scheduled_runs(api, schedule["id"]),
        lambda runs: len(succeeded(runs)) >= 2,
        timeout=30,
        message="two scheduled runs succeeded",
    )
    run = await get_run(api, succeeded(runs)[0]["id"])
    assert run["trigger"] == "schedule" and run["schedule_id"] == schedule["id"]
    assert run["stage"] == "Published" and run["revision"] == 1
    assert run["inputs"] == {"who": "sched"}
    assert run["outputs"] == {"greeting": "hello sched", "revision": 1}

    listed = await api.get(
        "/v2/runs", params={"trigger": "schedule", "process_id": process["id"]}
    )
    assert run["id"] in {r["id"] for r in listed.json()["items"]}
    read = await get_schedule(api, schedule["id"])
    assert run["id"] in {r["id"] for r in read["recent_runs"]}
