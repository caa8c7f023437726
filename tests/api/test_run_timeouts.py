"""Timeouts in the user's terms: a step's own, an http request's, the run's — each error says
which limit ran out and after how long, not Temporal's name for it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers.api import create_process, start_run, wait_for_state


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that takes connections (the kernel completes them) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/report"


async def test_a_step_that_outlives_its_timeout_says_so(
    api: httpx.AsyncClient, worker: object, silent_url: str
) -> None:
    definition = {
        "steps": [
            {"id": "fetch", "uses": "http", "timeout": 1, "retry": {"max_attempts": 1},
             "with": {"url": silent_url}},
            {"id": "after", "uses": "set", "with": {"x": 1}},
        ]
    }  # fmt: skip
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    assert done["state"] == "Failed"
    assert done["error"]["message"] == "step 'fetch' timed out after 1 s (its timeout)"
    assert done["error"]["step"] == "fetch"
    fetch = done["steps"][0]
    assert (fetch["state"], fetch["error"]) == ("TimedOut", "timed out after 1 s (its timeout)")


async def test_a_step_timeout_names_the_attempts_it_was_retried_for(
    api: httpx.AsyncClient, worker: object, silent_url: str
) -> None:
    definition = {
        "steps": [
            {"id": "fetch", "uses": "http", "timeout": 0.5,
             "retry": {"max_attempts": 2, "initial_interval": 0.1}, "with": {"url": silent_url}},
        ]
    }  # fmt: skip
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    assert done["error"]["message"] == (
        "step 'fetch' timed out after 0.5 s (its timeout; the last of 2 attempts)"
    )
    assert done["steps"][0]["state"] == "TimedOut"


async def test_an_http_request_that_gets_no_answer_says_how_long_it_waited(
    api: httpx.AsyncClient, worker: object, silent_url: str
) -> None:
    definition = {
        "steps": [
            {"id": "fetch", "uses": "http", "retry": {"max_attempts": 1},
             "with": {"url": silent_url, "timeout": 1}},
        ]
    }  # fmt: skip
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    host = silent_url.split("/")[2]
    assert done["error"]["message"] == (
        f"step 'fetch' failed: GET {silent_url}: no response from {host} within 1 s "
        "(its with.timeout)"
    )
    assert done["steps"][0]["state"] == "Failed"  # the request's limit, not the step's


async def test_a_run_that_outlives_its_timeout_names_it(
    api: httpx.AsyncClient, worker: object
) -> None:
    definition = {"timeout": 2, "steps": [{"id": "wait", "uses": "sleep", "with": {"seconds": 30}}]}
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"], timeout=20)
    assert done["state"] == "TimedOut"
    assert done["error"] == {
        "message": "the run exceeded its timeout of 2 s",
        "step": None,
        "type": "TimedOut",
    }
    # read from the run's history (a wait that sees it closed) instead of a describe
    again = await api.get(f"/v2/runs/{done['id']}", params={"wait": 5})
    assert again.json()["error"] == done["error"]
