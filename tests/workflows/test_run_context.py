"""What templates see of the run itself: ``run.created_at`` for every run, ``run.scheduled_at``
for a scheduled one (when its schedule meant it to start), as the API writes times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from openruns.settings import Settings
from tests.helpers import assert_eventually
from tests.helpers.api import create_process, get_run, start_run, wait_for_state
from tests.helpers.schedules import create_schedule, delete_schedules_on, scheduled_runs

WHEN = {
    "steps": [{"id": "title", "uses": "set",
               "with": {"text": "Report of {{ run.created_at[:10] }}"}}],
    "outputs": {
        "created_at": "{{ run.created_at }}",
        "scheduled_at": "{{ run.scheduled_at | default('none') }}",
        "title": "{{ steps.title.text }}",
    },
}  # fmt: skip


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
async def schedules_removed(client: Client, settings: Settings) -> AsyncIterator[None]:
    yield
    await delete_schedules_on(client, settings.task_queue)


async def test_templates_see_when_the_run_was_created(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, WHEN)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    assert done["state"] == "Succeeded", done
    outputs = done["outputs"]
    assert outputs["created_at"] == done["created_at"]  # the very string the API shows
    assert outputs["created_at"].endswith("Z")
    assert abs(_parse(outputs["created_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert outputs["title"] == f"Report of {done['created_at'][:10]}"
    assert outputs["scheduled_at"] == "none"


async def test_a_scheduled_run_sees_when_its_schedule_meant_it_to_start(
    api: httpx.AsyncClient, worker: object, schedules_removed: None
) -> None:
    process = await create_process(api, WHEN, publish=True)
    schedule = await create_schedule(api, process["id"], interval_seconds=3600, paused=True)
    fired = await api.post(f"/v2/schedules/{schedule['id']}/trigger")
    assert fired.status_code == 202, fired.text

    def one_finished(runs: list[dict[str, Any]]) -> bool:
        return len(runs) == 1 and runs[0]["state"] == "Succeeded"

    [listed] = await assert_eventually(
        lambda: scheduled_runs(api, schedule["id"]), one_finished, timeout=30
    )
    run = await get_run(api, listed["id"])
    scheduled_at = _parse(run["outputs"]["scheduled_at"])
    assert run["outputs"]["scheduled_at"].endswith("Z")
    assert abs(scheduled_at - _parse(run["created_at"])) < timedelta(seconds=5)
    assert run["outputs"]["created_at"] == run["created_at"]
