"""``/openapi.json`` tells the truth: the statuses an operation answers are the ones it
lists, and fields that lists leave empty say so."""

from __future__ import annotations

import httpx

from openruns.settings import Settings
from tests.helpers.apps import api_client


async def test_operations_that_call_temporal_list_its_refusal_as_502(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    for path, method in (
        ("/v2/runs", "post"),
        ("/v2/runs", "get"),
        ("/v2/runs/{run_id}", "get"),
        ("/v2/runs/{run_id}/cancel", "post"),
        ("/v2/runs/actions", "post"),
        ("/v2/processes/{process_id}/publish", "post"),
        ("/v2/processes/{process_id}/schedules", "post"),
        ("/v2/schedules/{schedule_id}", "patch"),
        ("/v2/test-runs", "post"),
    ):
        refused = paths[path][method]["responses"].get("502")
        assert refused and "Temporal refused" in refused["description"], (method, path)
    for path, method in (("/v2/processes", "get"), ("/v2/health", "get"), ("/v2/files", "post")):
        assert "502" not in paths[path][method]["responses"], (method, path)

    # And a 502 is what Temporal's refusal gives: here, a namespace it does not have.
    elsewhere = settings.model_copy(update={"namespace": "no-such-namespace", "auto_setup": False})
    async with api_client(
        elsewhere, key=settings.api_key.get_secret_value() if settings.api_key else ""
    ) as other:
        response = await other.get("/v2/runs")
    assert response.status_code == 502, response.text
    assert response.json()["message"].startswith("Temporal refused the request")


async def test_a_runs_error_says_it_is_only_in_run_details(api: httpx.AsyncClient) -> None:
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]
    error = schemas["Run"]["properties"]["error"]["description"]
    assert "GET /v2/runs/{run_id}" in error and "`null` in lists" in error
    steps = schemas["Run"]["properties"]["steps"]["description"]
    assert "not in lists" in steps
