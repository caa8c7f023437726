"""The ``http`` step's status policy (README): a 2xx succeeds; a 4xx fails the step for good,
except 408 and 429, which are retried as a 5xx is; a code listed in ``ok_status`` succeeds."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import Client

from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.history import activity_attempts
from tests.helpers.http_server import LocalHttpServer


async def _call(api: httpx.AsyncClient, url: str, **with_: Any) -> dict[str, Any]:
    """One run of a process whose one step calls ``url``, allowed three attempts."""
    definition = {
        "steps": [
            {"id": "call", "uses": "http", "retry": {"max_attempts": 3, "initial_interval": 0.1},
             "with": {"url": url, **with_}},
        ],
        "outputs": {"status": "{{ steps.call.status }}", "error": "{{ steps.call.json.error }}"},
    }  # fmt: skip
    process = await create_process(api, definition)
    return await wait_for_state(api, (await start_run(api, process["id"]))["id"])


async def test_a_404_fails_the_step_for_good(
    api: httpx.AsyncClient, worker: object, client: Client, http_server: LocalHttpServer
) -> None:
    done = await _call(api, f"{http_server.url}/status/404")
    assert done["state"] == "Failed", done
    assert done["error"]["step"] == "call" and "HTTP 404" in done["error"]["message"]
    assert http_server.counts["/status/404"] == 1
    assert await activity_attempts(client, done["id"]) == [1]


async def test_a_429_is_retried_up_to_max_attempts(
    api: httpx.AsyncClient, worker: object, client: Client, http_server: LocalHttpServer
) -> None:
    done = await _call(api, f"{http_server.url}/status/429")
    assert done["state"] == "Failed", done
    assert "HTTP 429" in done["error"]["message"]
    assert http_server.counts["/status/429"] == 3
    assert await activity_attempts(client, done["id"]) == [3]


async def test_a_status_in_ok_status_succeeds_with_that_status(
    api: httpx.AsyncClient, worker: object, http_server: LocalHttpServer
) -> None:
    done = await _call(api, f"{http_server.url}/status/404", ok_status=[404])
    assert done["state"] == "Succeeded", done
    assert done["outputs"] == {"status": 404, "error": "status 404"}  # the body is the output
    assert http_server.counts["/status/404"] == 1
