"""SIGKILL the worker while runs are mid-``http``/``sleep``; a new worker finishes every one.

The ``http`` step is at-least-once: a request in flight when the worker died is sent again
by the next attempt. Each retry carries the same ``Idempotency-Key: <run id>/<step id>``, so
the receiver (a local server that records every request) can deduplicate.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import httpx
import pytest

from tests.faults.helpers import all_completed, create, outputs, start_many
from tests.helpers import assert_eventually
from tests.helpers.http_server import LocalHttpServer
from tests.helpers.stack import ProcessStack


def _definition(url: str) -> dict:
    return {
        "inputs": {"n": {"type": "integer", "required": True}},
        "steps": [
            {"id": "call", "uses": "http", "timeout": 3,
             "retry": {"max_attempts": 20, "initial_interval": 0.5, "max_interval": 2},
             "with": {"method": "POST", "url": f"{url}/slow", "json": {"n": "{{ inputs.n }}"}}},
            {"id": "nap", "uses": "sleep", "with": {"seconds": 2}},
            {"id": "double", "uses": "set", "with": {"value": "{{ steps.call.json.json.n * 2 }}"}},
        ],
        "outputs": {"value": "{{ steps.double.value }}", "status": "{{ steps.call.status }}"},
    }  # fmt: skip


@pytest.mark.parametrize("runs", [pytest.param(20), pytest.param(200, marks=pytest.mark.faults)])
@pytest.mark.timeout(600)
async def test_worker_sigkilled_mid_flight(
    stack: ProcessStack, receiver: LocalHttpServer, runs: int
) -> None:
    assert stack.client is not None
    async with stack.http() as http:
        process_id = await create(http, _definition(receiver.url), f"kill-{uuid.uuid4().hex[:6]}")
        run_ids = await start_many(http, process_id, [{"n": i} for i in range(runs)])

        def requests_for_this_test() -> list[dict]:
            return [r for r in receiver.requests if r["headers"]["Idempotency-Key"] in keys]

        keys = {f"{run_id}/call" for run_id in run_ids}
        # Kill once a good share of the runs has called the receiver, before all have.
        await assert_eventually(
            lambda: _async(
                len({r["headers"]["Idempotency-Key"] for r in requests_for_this_test()})
            ),
            lambda called: called >= runs // 4,
            timeout=120,
            message="runs are calling the receiver",
        )
        stack.kill("worker")
        done_at_kill = len(await _succeeded(http, process_id))
        assert done_at_kill < runs, "the worker died after every run had finished"

        stack.spawn("worker")
        await all_completed(stack.client, process_id, runs, timeout=300)
        results = await outputs(http, run_ids)

    assert results == {run_id: {"value": 2 * i, "status": 200} for i, run_id in enumerate(run_ids)}
    by_key: dict[str, list[bytes]] = defaultdict(list)
    for request in requests_for_this_test():
        by_key[request["headers"]["Idempotency-Key"]].append(request["body"])
    assert set(by_key) == keys  # every run called, under its own key
    for key, bodies in by_key.items():
        assert len(set(bodies)) == 1, key  # a retry repeats the same request
    duplicates = sum(len(bodies) - 1 for bodies in by_key.values())
    print(f"\n{runs} runs, worker SIGKILLed with {runs - done_at_kill} unfinished, "
          f"{duplicates} duplicate requests (same Idempotency-Key), 0 lost")  # fmt: skip
    worker_log = stack.logs("worker")
    assert any(f'"run_id":"{run_id}"' in worker_log for run_id in run_ids)  # JSON lines, run ids


async def _succeeded(http: httpx.AsyncClient, process_id: str) -> list[dict]:
    response = await http.get(
        "/v2/runs", params={"process_id": process_id, "state": "Succeeded", "limit": 100}
    )
    return response.json()["items"]


async def _async(value: int) -> int:
    return value
