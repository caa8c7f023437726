"""A continuation token of the run list whose inner Temporal page token was tampered with is
a quick 422, not a 502 after the client has retried the server's refusal for seconds."""

from __future__ import annotations

import time

import httpx

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
