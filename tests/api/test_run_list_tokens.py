"""A continuation token of the run list that was tampered with is a quick 422 naming
``continuation_token``: its inner Temporal page token (not a 502 after the client has retried
the server's refusal for seconds), and every other field of every token shape."""

from __future__ import annotations

import time
from typing import Any

import httpx
from temporalio.client import Client

from openruns.pagination import decode_token, encode_token
from tests.helpers.api import create_process, start_run


async def test_a_tampered_temporal_page_token_is_a_quick_422(api: httpx.AsyncClient) -> None:
    process = await create_process(api, {"outputs": {"n": "{{ 1 }}"}})
    for _ in range(3):  # no worker: the runs stay Pending, which is enough for paging
        await start_run(api, process["id"])
    params = {"process_id": process["id"], "limit": 1}
    first = await api.get("/v2/runs", params=params)
    assert first.status_code == 200, first.text
    state = decode_token(first.json()["continuation_token"])
    assert state.get("t"), state  # the page token Temporal gave, inside ours

    for garbage in ("ff" * 40, b'{"CloseTime": ['.hex()):
        forged = encode_token({**state, "t": garbage})
        began = time.monotonic()
        response = await api.get("/v2/runs", params={**params, "continuation_token": forged})
        assert response.status_code == 422, response.text
        assert response.json()["details"][0]["path"] == "continuation_token"
        assert time.monotonic() - began < 3, "answered without retrying the server's refusal"

    # The genuine token still pages on.
    second = await api.get(
        "/v2/runs", params={**params, "continuation_token": first.json()["continuation_token"]}
    )
    assert second.status_code == 200 and len(second.json()["items"]) == 1


# Values a tampered token may carry in any field: other types, other shapes, times without
# a zone or past the ends of the calendar once in UTC, hex that is not, quotes.
BAD_VALUES: list[Any] = [
    None, 0, -1, 1.5, True, "", "zz", "0", "ff" * 30, "x" * 300, "run-1' OR 'a' = 'a",
    [], [1], ["run-x", 2], [[]], [f"run-{i}" for i in range(600)], {}, {"a": 1},
    "2020-01-01", "2020-01-01T00:00:00", "2020-01-01T00:00:00+05:30",
    "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59.999999+00:00", "9999-12-31T23:59:59.999999-01:00",
    b'{"CloseTime": "x"}'.hex(),
]  # fmt: skip
# The token shapes each list issues (besides its query key "q").
SHAPES: dict[str, list[dict[str, Any]]] = {
    "all": [{}],
    "false": [{}, {"m": "p"}, {"m": "w", "p": "o"}, {"m": "w", "p": "c"}],
    "true": [{}, {"p": "o"}, {"p": "c"}],
}


async def test_no_token_content_is_anything_but_a_page_or_a_422(
    api: httpx.AsyncClient, client: Client
) -> None:
    """Whatever a client puts in any field of a token with the right query key, the run list
    answers 200 or 422 naming ``continuation_token``: never a 500 (a ValueError of
    ``bytes.fromhex``) nor a 502 (a time without a zone that Temporal's query parser
    refused)."""
    process = await create_process(api, {"outputs": {"n": "{{ 1 }}"}})
    runs = [(await start_run(api, process["id"]))["id"] for _ in range(4)]
    for run_id in runs[:2]:  # no worker: the others stay Pending
        await client.get_workflow_handle(run_id).terminate()
    archive = await api.post(
        "/v2/runs/actions", json={"action": "archive", "run_ids": [runs[0], runs[2]]}
    )
    assert archive.status_code == 200, archive.text
    failures = []
    for archived, shapes in SHAPES.items():
        params = {"process_id": process["id"], "archived": archived, "limit": 1}
        first = await api.get("/v2/runs", params=params)
        assert first.status_code == 200, first.text
        key = decode_token(first.json()["continuation_token"])["q"]
        for shape in shapes:
            for field in "mptbsai":
                for value in BAD_VALUES:
                    state = {**shape, field: value, "q": key}
                    token = encode_token(state)
                    try:  # an error the app did not handle (a 500) is raised through ASGI
                        response = await api.get(
                            "/v2/runs", params={**params, "continuation_token": token}
                        )
                    except Exception as error:
                        failures.append((archived, state, 500, repr(error)))
                        continue
                    body = response.json()
                    if response.status_code == 200 or (
                        response.status_code == 422
                        and body["details"][0]["path"] == "continuation_token"
                    ):
                        continue
                    failures.append((archived, state, response.status_code, body))
    assert not failures, failures[:5]
