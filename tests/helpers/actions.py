"""Helpers for run management tests: bulk actions and list paging over the API."""

from __future__ import annotations

from typing import Any

import httpx


async def act(
    api: httpx.AsyncClient, action: str, run_ids: list[str], **body: Any
) -> list[dict[str, Any]]:
    """``POST /v2/runs/actions``; returns the per-run results."""
    response = await api.post(
        "/v2/runs/actions", json={"action": action, "run_ids": run_ids, **body}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["run_id"] for r in results] == list(dict.fromkeys(run_ids))
    return results


async def list_ids(api: httpx.AsyncClient, **params: Any) -> list[str]:
    """Every run id of a list, following continuation tokens."""
    ids: list[str] = []
    token = None
    for _ in range(500):
        query = {**params, **({"continuation_token": token} if token else {})}
        response = await api.get("/v2/runs", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [run["id"] for run in page["items"]]
        token = page["continuation_token"]
        if token is None:
            return ids
    raise AssertionError("the list did not end")
