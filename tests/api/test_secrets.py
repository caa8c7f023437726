"""Secrets end to end: ``{{ secrets.NAME }}`` in an ``http`` step reaches the server as the
worker's ``OPENRUNS_SECRET_NAME``, and the value is nowhere in the run's Temporal history, its
outputs or its errors (real dev server, worker, HTTP server)."""

from __future__ import annotations

import json

import httpx
import pytest
from temporalio.client import Client

from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.history import activity_attempts
from tests.helpers.http_server import LocalHttpServer

VALUE = "s3cr3t-value-7781"


@pytest.fixture(autouse=True)
def _secret_on_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENRUNS_SECRET_CRM_TOKEN", VALUE)  # the worker runs in this process


async def _history_bytes(client: Client, run_id: str) -> bytes:
    """The run's history as the server stores it: protobuf, payloads' JSON as raw bytes (its
    JSON form would hide a value in base64)."""
    events = client.get_workflow_handle(run_id).fetch_history_events()
    return b"".join([event.SerializeToString() async for event in events])


async def _run(api: httpx.AsyncClient, definition: dict, **inputs: object) -> dict:
    process = await create_process(api, definition)
    return await wait_for_state(api, (await start_run(api, process["id"], inputs=inputs))["id"])


async def test_a_secret_reaches_the_request_and_nothing_else(
    api: httpx.AsyncClient, worker: object, client: Client, http_server: LocalHttpServer
) -> None:
    definition = {
        "steps": [
            {"id": "call", "uses": "http", "with": {
                "method": "POST",
                "url": f"{http_server.url}/echo",
                "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"},
                "json": {"echoed": "{{ secrets['CRM_TOKEN'] }}", "n": 1},
            }},
            {"id": "show", "uses": "set", "with": {"token": "{{ secrets.CRM_TOKEN }}"}},
        ],
        "outputs": {"echoed": "{{ steps.call.json.json.echoed }}"},
    }  # fmt: skip
    done = await _run(api, definition)
    assert done["state"] == "Succeeded", done

    [request] = [r for r in http_server.requests if r["path"] == "/echo"]
    assert request["headers"]["Authorization"] == f"Bearer {VALUE}"
    assert json.loads(request["body"]) == {"echoed": VALUE, "n": 1}

    # What the server sent back named the secret: the step's output says which, not what.
    assert done["outputs"] == {"echoed": "⟦secret:CRM_TOKEN⟧"}
    outputs = (await api.get(f"/v2/runs/{done['id']}/step-outputs")).json()["steps"]
    assert outputs["call"]["json"]["json"] == {"echoed": "⟦secret:CRM_TOKEN⟧", "n": 1}
    # In the workflow a secret is only its placeholder (this run's nonce in it).
    assert outputs["show"]["token"].startswith("⟦secret:CRM_TOKEN:")

    history = await _history_bytes(client, done["id"])
    assert history.count("⟦secret:CRM_TOKEN".encode()) >= 4  # the placeholders are there ...
    assert VALUE.encode() not in history  # ... the value is not


async def test_text_that_arrives_as_data_cannot_name_a_secret(
    api: httpx.AsyncClient, worker: object, http_server: LocalHttpServer
) -> None:
    """An input (say, an email's body) holding a placeholder is sent as it is: only the run's
    own templates make placeholders the worker fills in."""
    definition = {
        "inputs": {"note": {"type": "string"}},
        "steps": [
            {"id": "call", "uses": "http", "with": {
                "method": "POST", "url": f"{http_server.url}/echo",
                "json": {"note": "{{ inputs.note }}", "auth": "{{ secrets.CRM_TOKEN }}"},
            }},
        ],
    }  # fmt: skip
    guesses = ["⟦secret:CRM_TOKEN:0123456789abcdef⟧", "{{ secrets.CRM_TOKEN }}"]
    for guess in guesses:
        done = await _run(api, definition, note=guess)
        assert done["state"] == "Succeeded", done
        sent = json.loads(http_server.requests[-1]["body"])
        assert sent == {"note": guess, "auth": VALUE}


async def test_a_secret_the_worker_lacks_fails_the_step_at_once(
    api: httpx.AsyncClient, worker: object, client: Client, http_server: LocalHttpServer
) -> None:
    definition = {
        "steps": [
            {"id": "call", "uses": "http", "with": {
                "url": f"{http_server.url}/hello", "headers": {"x-key": "{{ secrets.NOPE }}"},
            }},
        ]
    }  # fmt: skip
    done = await _run(api, definition)
    assert done["state"] == "Failed"
    assert done["error"]["step"] == "call"
    assert done["error"]["message"] == (
        "step 'call' failed: secret 'NOPE' is not set on this worker: set "
        "OPENRUNS_SECRET_NOPE in the environment of every worker"
    )
    assert await activity_attempts(client, done["id"]) == [1]  # not retried
    assert http_server.counts["/hello"] == 0


async def test_a_step_error_that_quotes_a_secret_names_it_instead(
    api: httpx.AsyncClient, worker: object, client: Client, http_server: LocalHttpServer
) -> None:
    definition = {
        "steps": [
            {"id": "call", "uses": "http", "with": {
                "url": f"{http_server.url}/status/404?key={{{{ secrets.CRM_TOKEN }}}}",
            }},
        ]
    }  # fmt: skip
    done = await _run(api, definition)
    assert done["state"] == "Failed"
    assert http_server.requests[-1]["path"] == f"/status/404?key={VALUE}"
    message = done["error"]["message"]
    assert "HTTP 404" in message and "key=⟦secret:CRM_TOKEN⟧" in message, message
    history = await _history_bytes(client, done["id"])
    assert b"key=\xe2\x9f\xa6secret:CRM_TOKEN" in history and VALUE.encode() not in history
    assert await activity_attempts(client, done["id"]) == [1]  # still a 404: not retried
