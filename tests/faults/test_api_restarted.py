"""SIGKILL the API during a burst of ``POST /v2/runs`` with ``Idempotency-Key``s; clients
retry on connection errors and 5xx like a well-behaved client: exactly one run per key."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import httpx
import pytest

from tests.faults.helpers import all_completed, create
from tests.helpers.stack import ProcessStack

DEFINITION = {
    "inputs": {"n": {"type": "integer", "required": True}},
    "steps": [{"id": "echo", "uses": "set", "with": {"n": "{{ inputs.n }}"}}],
    "outputs": {"n": "{{ steps.echo.n }}"},
}


@pytest.mark.parametrize("keys", [pytest.param(60), pytest.param(300, marks=pytest.mark.faults)])
@pytest.mark.timeout(600)
async def test_api_killed_during_a_burst(stack: ProcessStack, keys: int) -> None:
    assert stack.client is not None
    answers: dict[str, set[str]] = defaultdict(set)
    attempts = failures = 0
    tag = uuid.uuid4().hex[:6]  # keys are per API key: unique to this test's burst
    async with stack.http() as http:
        process_id = await create(http, DEFINITION, f"burst-{tag}")

    async def client(n: int) -> None:
        nonlocal attempts, failures
        body = {"process_id": process_id, "stage": "Draft", "inputs": {"n": n}}
        asks = 2 if n % 3 == 0 else 1  # some clients ask again after success, as retries do
        async with stack.http() as http:
            while asks:
                attempts += 1
                try:
                    response = await http.post(
                        "/v2/runs", json=body, headers={"Idempotency-Key": f"order-{tag}-{n}"}
                    )
                except httpx.TransportError:
                    response = None
                if response is None or response.status_code >= 500:
                    failures += 1
                    await asyncio.sleep(0.2)  # back off, then retry the same request
                    continue
                assert response.status_code == 201, response.text
                answers[f"order-{tag}-{n}"].add(response.json()["id"])
                asks -= 1

    burst = asyncio.gather(*(client(n) for n in range(keys)))
    await asyncio.sleep(0)  # let the burst begin
    while sum(1 for a in answers.values() if a) < keys // 4:
        await asyncio.sleep(0.05)
    stack.kill("api")
    stack.spawn("api")
    await burst

    assert len(answers) == keys
    assert all(len(ids) == 1 for ids in answers.values()), "a key named two runs"
    run_ids = {next(iter(ids)) for ids in answers.values()}
    assert len(run_ids) == keys
    await all_completed(stack.client, process_id, keys, timeout=120)  # and no extra run anywhere
    print(f"\n{keys} keys, API SIGKILLed mid-burst, {attempts} requests, {failures} failed "
          f"and retried, {keys} runs: exactly one per key")  # fmt: skip
