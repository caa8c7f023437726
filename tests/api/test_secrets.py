"""Secrets end to end: ``{{ secrets.NAME }}`` in an ``http`` step reaches the server as the
worker's ``OPENRUNS_SECRET_NAME``, and the value is nowhere in the run's Temporal history, its
outputs or its errors (real dev server, worker, HTTP server)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from openruns import secrets
from openruns.settings import Settings
from openruns.store import Database
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.history import activity_attempts
from tests.helpers.http_server import LocalHttpServer
from worker import worker_for

VALUE = "s3cr3t-value-7781"


@pytest.fixture(autouse=True)
def _secret_on_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENRUNS_SECRET_CRM_TOKEN", VALUE)  # the worker runs in this process


@pytest.fixture
async def plugin_worker(
    client: Client, settings: Settings, database: Database
) -> AsyncIterator[Worker]:
    with_plugins = settings.model_copy(update={"plugins": ["tests.helpers.plugin_steps"]})
    async with worker_for(client, with_plugins, database) as running:
        yield running


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


class _Recorder:
    """A local HTTP server whose answers the test sets: ``POST /store`` keeps the body,
    ``GET /last`` gives it back, ``GET /reply`` answers ``reply``."""

    def __init__(self) -> None:
        self.stored = b"{}"
        self.reply: dict[str, object] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                recorder.stored = self.rfile.read(int(self.headers["content-length"]))
                self._send(b"{}")

            def do_GET(self) -> None:
                body = json.dumps(recorder.reply).encode() if self.path == "/reply" else None
                self._send(body or recorder.stored)

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    yield server
    server.server.shutdown()


async def test_a_value_a_later_step_gets_back_is_taken_out_too(
    api: httpx.AsyncClient, worker: object, client: Client, recorder: _Recorder
) -> None:
    definition = {
        "steps": [
            {"id": "send", "uses": "http", "with": {
                "method": "POST", "url": f"{recorder.url}/store",
                "json": {"t": "{{ secrets.CRM_TOKEN }}"},
            }},
            {"id": "fetch", "uses": "http", "with": {"url": f"{recorder.url}/last"}},
        ],
        "outputs": {"got": "{{ steps.fetch.json.t }}"},
    }  # fmt: skip
    done = await _run(api, definition)
    assert json.loads(recorder.stored) == {"t": VALUE}  # sent
    assert done["outputs"] == {"got": "⟦secret:CRM_TOKEN⟧"}  # the step without it: cleaned
    assert VALUE.encode() not in await _history_bytes(client, done["id"])


async def test_a_placeholder_in_a_response_is_never_filled_in(
    api: httpx.AsyncClient,
    worker: object,
    client: Client,
    recorder: _Recorder,
    http_server: LocalHttpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that learned a run's nonce answers with live placeholders, one for a secret
    the process does not name: the next step sends them as inert text, no value."""
    monkeypatch.setenv("OPENRUNS_SECRET_OTHER", "other-value-5512")
    definition = {
        "steps": [
            {"id": "wait", "uses": "sleep", "with": {"seconds": 1}},
            {"id": "ask", "uses": "http", "with": {
                "url": f"{recorder.url}/reply", "headers": {"x": "{{ secrets.CRM_TOKEN }}"},
            }},
            {"id": "tell", "uses": "http", "with": {
                "method": "POST", "url": f"{http_server.url}/echo",
                "json": {"a": "{{ steps.ask.json.a }}", "b": "{{ steps.ask.json.b }}"},
                "headers": {"x": "{{ secrets.CRM_TOKEN }}"},
            }},
        ]
    }  # fmt: skip
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    run_key = (await client.get_workflow_handle(run["id"]).describe()).run_id
    nonce = secrets.nonce(run_key)
    recorder.reply = {
        "a": secrets.placeholder("CRM_TOKEN", nonce),
        "b": secrets.placeholder("OTHER", nonce),
    }
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    sent = json.loads(http_server.requests[-1]["body"])
    assert sent == {"a": "⟦secret:CRM_TOKEN⟧", "b": "⟦secret:OTHER⟧"}


@pytest.mark.parametrize(
    ("where", "definition", "message"),
    [
        ("steps[0].with.x", {"steps": [{"id": "s", "uses": "set", "with": {
            "x": "{{ secrets.CRM_TOKEN | urlencode }}"}}]}, "a secret is written out as it is"),
        ("steps[0].with.x", {"steps": [{"id": "s", "uses": "set", "with": {
            "x": "{{ secrets.get('CRM_TOKEN') }}"}}]}, "secrets are named as secrets.NAME"),
        ("steps[0].if", {"steps": [{"id": "s", "uses": "set", "if": "{{ secrets.CRM_TOKEN }}",
            "with": {}}]}, "a condition cannot use a secret"),
        ("outputs.t", {"outputs": {"t": "{{ secrets.CRM_TOKEN }}"}}, "outputs cannot hold secrets"),
        ("steps[0].with.inputs.t", {"steps": [{"id": "s", "uses": "process", "with": {
            "process_id": "p", "inputs": {"t": "{{ secrets.CRM_TOKEN }}"}}}]},
         "a child run does not get its parent's secrets"),
    ],
)  # fmt: skip
async def test_uses_of_a_secret_that_cannot_work_are_refused_when_saved(
    api: httpx.AsyncClient, where: str, definition: dict, message: str
) -> None:
    response = await api.post("/v2/processes", json={"name": "s", "definition": definition})
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert detail["path"] == f"definition.{where}"
    assert detail["message"].startswith(message), detail


async def test_a_secret_in_a_plugins_error_cause_or_heartbeat_stays_out(
    api: httpx.AsyncClient, plugin_worker: object, client: Client
) -> None:
    for uses, timeout in (("test_leaky_error", None), ("test_leaky_heartbeat", 1)):
        step: dict[str, object] = {
            "id": "s",
            "uses": uses,
            "with": {"token": "{{ secrets.CRM_TOKEN }}"},
        }
        if timeout:
            step["timeout"] = timeout
        done = await _run(api, {"steps": [step]})
        assert done["state"] == "Failed", done
        history = await _history_bytes(client, done["id"])
        assert VALUE.encode() not in history, uses
    assert b"logged in with \xe2\x9f\xa6secret:CRM_TOKEN\xe2\x9f\xa7" in history  # heartbeat


async def test_a_secret_carried_into_a_child_run_fails_the_step(
    api: httpx.AsyncClient, worker: object, client: Client
) -> None:
    child = await create_process(
        api, {"inputs": {"t": {"type": "string"}}, "outputs": {"t": "{{ inputs.t }}"}},
        publish=True,
    )  # fmt: skip
    definition = {
        "steps": [
            {"id": "keep", "uses": "set", "with": {"t": "{{ secrets.CRM_TOKEN }}"}},
            {"id": "call", "uses": "process", "with": {
                "process_id": child["id"], "inputs": {"t": "{{ steps.keep.t }}"},
            }},
        ]
    }  # fmt: skip
    done = await _run(api, definition)
    assert done["state"] == "Failed"
    assert done["error"]["message"].startswith(
        "step 'call' failed: a child run does not get its parent's secrets"
    )
    assert done["steps"][1]["child_run_id"] is None  # no child was started
