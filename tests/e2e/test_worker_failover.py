"""A worker killed with SIGKILL in the middle of a step costs the run nothing but time: the
activity attempt times out and the other worker finishes the run."""

from __future__ import annotations

import os
import signal

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.helpers import assert_eventually
from tests.helpers.api import create_process, wait_for_state
from tests.helpers.replicas import HangOnceServer, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def test_a_worker_killed_mid_run_leaves_the_run_to_the_other(
    stack: Stack, client: Client
) -> None:
    replicas, a, b = stack.replicas, stack.a, stack.b
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
        process_id = (
            await create_process(
                a, {"steps": [step], "outputs": {"served": "{{ steps.call.json.served }}"}}
            )
        )["id"]
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

        run = await wait_for_state(b, run_id, timeout=60)
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
