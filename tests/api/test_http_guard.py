"""The ``http`` step's address guard as a running worker applies it: a definition that calls
cloud metadata or a loopback address that ``OPENRUNS_HTTP_ALLOW`` does not list fails without
a request being sent (tests/activities/test_http_ssrf.py checks the rules one by one, on
``Destinations`` it builds itself; this checks the worker builds its own from the settings)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from temporalio.client import Client

from openruns.settings import Settings
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.history import activity_attempts
from tests.helpers.http_server import LocalHttpServer


@pytest.fixture
def v6_server() -> Iterator[LocalHttpServer]:
    """A server on ::1, which the worker's allow-list (127.0.0.1 alone) does not cover."""
    with LocalHttpServer("::1") as server:
        yield server


async def test_the_worker_refuses_metadata_and_unlisted_loopback(
    api: httpx.AsyncClient,
    worker: object,
    client: Client,
    settings: Settings,
    v6_server: LocalHttpServer,
) -> None:
    assert settings.http_allow == ["127.0.0.1"]  # ::1 and link-local are not allow-listed
    definition = {
        "inputs": {"url": {"type": "string", "required": True}},
        "steps": [
            {"id": "call", "uses": "http", "retry": {"max_attempts": 2, "initial_interval": 0.1},
             "with": {"url": "{{ inputs.url }}", "timeout": 2}},
        ],
    }  # fmt: skip
    process = await create_process(api, definition)
    refused = {}
    for url, host in (
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        (f"{v6_server.url}/secret", "::1"),
    ):
        run = await start_run(api, process["id"], inputs={"url": url})
        done = await wait_for_state(api, run["id"])
        error = done["error"] or {}
        refused[host] = (
            done["state"],
            error.get("step"),
            f"refusing to call {host}" in error.get("message", ""),
            await activity_attempts(client, run["id"]),  # refused for good: one attempt
        )
    assert refused == {
        "169.254.169.254": ("Failed", "call", True, [1]),
        "::1": ("Failed", "call", True, [1]),
    }
    assert v6_server.requests == []
