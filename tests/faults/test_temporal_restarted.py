"""SIGKILL the Temporal dev server with runs in flight and start it again on the same SQLite
file: the worker and the API reconnect by themselves and every run finishes."""

from __future__ import annotations

import uuid

import pytest

from tests.faults.helpers import all_completed, count, create, outputs, start_many
from tests.helpers import assert_eventually
from tests.helpers.stack import ProcessStack

DEFINITION = {
    "inputs": {"n": {"type": "integer", "required": True}},
    "steps": [
        {"id": "nap", "uses": "sleep", "with": {"seconds": 3}},
        {"id": "square", "uses": "set", "with": {"value": "{{ inputs.n * inputs.n }}"}},
    ],
    "outputs": {"value": "{{ steps.square.value }}"},
}


@pytest.mark.parametrize("runs", [pytest.param(20), pytest.param(100, marks=pytest.mark.faults)])
@pytest.mark.timeout(600)
async def test_temporal_killed_and_restarted(stack: ProcessStack, runs: int) -> None:
    assert stack.client is not None
    async with stack.http() as http:
        process_id = await create(http, DEFINITION, f"temporal-{uuid.uuid4().hex[:6]}")
        run_ids = await start_many(http, process_id, [{"n": i} for i in range(runs)])
        await assert_eventually(
            lambda: count(stack.client, process_id),  # type: ignore[arg-type]
            lambda started: started == runs,
            timeout=60,
        )
        stack.kill("temporal")
        down = await http.get("/v2/health")  # it really is down
        assert down.status_code == 503
        await stack.start_temporal()

        await all_completed(stack.client, process_id, runs, timeout=300)
        results = await outputs(http, run_ids)
        assert (await http.get("/v2/health")).json() == {"status": "OK"}
    assert results == {run_id: {"value": i * i} for i, run_id in enumerate(run_ids)}
    print(f"\n{runs} runs in flight, Temporal SIGKILLed and restarted, 0 lost")
