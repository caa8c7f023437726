"""Plugin steps through the API and a worker on the real dev server, and ``/v2/step-types``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from openruns.settings import Settings
from tests.helpers.api import create_process, start_run, wait_for_state

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "processes" / "invoice_total.yaml"
PLUGINS = ["examples.plugins.invoice_tools", "tests.helpers.plugin_steps"]
ROWS = [
    {"description": "paper", "quantity": "3", "unit_price": "0.10"},  # as CSV rows give them
    {"description": "toner", "quantity": 2, "unit_price": 45.5},
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plugins": PLUGINS})


def _uses(uses: str, with_: dict[str, Any]) -> dict[str, Any]:
    return {
        "steps": [{"id": "s", "uses": uses, "with": with_}],
        "outputs": {"out": "{{ steps.s }}"},
    }


async def _run(api: httpx.AsyncClient, definition: dict[str, Any], **body: Any) -> dict[str, Any]:
    process = await create_process(api, definition)
    return await wait_for_state(api, (await start_run(api, process["id"], **body))["id"])


async def test_the_example_process_totals_an_invoice(
    api: httpx.AsyncClient, worker: object
) -> None:
    response = await api.post(
        "/v2/processes", json={"name": "invoice-total", "definition": EXAMPLE.read_text()}
    )
    assert response.status_code == 201, response.text
    process = response.json()
    run = await start_run(api, process["id"], inputs={"rows": ROWS})
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    assert done["outputs"] == {"subtotal": 91.3, "tax": 18.26, "total": 109.56, "lines": 2}

    refused = await start_run(api, process["id"], inputs={"rows": ROWS, "limit": 100})
    failed = await wait_for_state(api, refused["id"])
    assert failed["state"] == "Failed" and failed["error"]["step"] == "check"
    assert "invoice total 109.56 is above the limit 100" in failed["error"]["message"]


@pytest.mark.parametrize(
    ("with_", "path"),
    [
        ({"rows": "not a list"}, "definition.steps[0].with.rows"),
        ({"rows": [{"description": "x", "quantity": "many", "unit_price": 1}]},
         "definition.steps[0].with.rows[0].quantity"),
        ({"rows": ROWS, "tax_rate": 2}, "definition.steps[0].with.tax_rate"),
        ({"rows": ROWS, "discount": 1}, "definition.steps[0].with.discount"),
    ],
)  # fmt: skip
async def test_wrong_plugin_arguments_are_422_naming_the_field(
    api: httpx.AsyncClient, with_: dict[str, Any], path: str
) -> None:
    response = await api.post(
        "/v2/processes", json={"name": "bad", "definition": _uses("invoice_total", with_)}
    )
    assert response.status_code == 422, response.text
    assert [d["path"] for d in response.json()["details"]] == [path]


async def test_unknown_step_type_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v2/processes", json={"name": "bad", "definition": _uses("invoice_totl", {})}
    )
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"path": "definition.steps[0].uses", "message": "unknown step type 'invoice_totl'"}
    ]


async def test_templated_arguments_are_validated_when_the_step_runs(
    api: httpx.AsyncClient, worker: object
) -> None:
    definition = _uses("invoice_total", {"rows": "{{ inputs.rows }}"})
    definition["inputs"] = {"rows": {"type": "array"}}
    bad_rows = [{"description": "x", "quantity": -1, "unit_price": 1}]
    done = await _run(api, definition, inputs={"rows": bad_rows})
    assert done["state"] == "Failed" and done["error"]["step"] == "s"
    assert "invalid arguments: rows.0.quantity" in done["error"]["message"]


async def test_plugin_gets_its_parsed_arguments_and_context(
    api: httpx.AsyncClient, worker: object
) -> None:
    done = await _run(api, _uses("test_repeat", {"text": "ab", "times": 3}))
    assert done["state"] == "Succeeded", done
    assert done["outputs"]["out"] == {
        "text": "ababab",
        "args_type": "RepeatArgs",
        "where": f"{done['id']}/s",
    }


async def test_plugin_retry_defaults_and_step_failure(
    api: httpx.AsyncClient, worker: object
) -> None:
    flaky = await _run(api, _uses("test_flaky", {"succeed_on": 3}))
    assert flaky["outputs"] == {"out": {"attempt": 3}}
    exhausted = await _run(api, _uses("test_flaky", {"succeed_on": 4}))
    assert exhausted["state"] == "Failed" and "attempt 3 failed" in exhausted["error"]["message"]
    refused = await _run(api, _uses("test_refuse", {}))
    assert refused["state"] == "Failed" and refused["error"]["step"] == "s"
    assert "refused on purpose on attempt 1" in refused["error"]["message"]  # not retried
    unjsonable = await _run(api, _uses("test_unjsonable", {}))
    assert "not JSON" in unjsonable["error"]["message"]


async def test_step_types_lists_builtins_and_plugins_with_schemas(api: httpx.AsyncClient) -> None:
    response = await api.get("/v2/step-types", params={"limit": 100})
    assert response.status_code == 200
    body = response.json()
    by_name = {t["name"]: t for t in body["items"]}
    assert {"set", "http", "sleep", "fail", "process", "invoice_total"} <= set(by_name)
    assert body["continuation_token"] is None

    invoice = by_name["invoice_total"]
    assert invoice["kind"] == "activity"
    assert invoice["plugin"] == "examples.plugins.invoice_tools"
    assert invoice["description"].startswith("Total invoice line items")
    schema = invoice["args_schema"]
    assert schema["required"] == ["rows"]
    row = schema["$defs"]["LineItem"]
    assert set(row["properties"]) == {"description", "quantity", "unit_price"}
    assert (
        by_name["test_repeat"]["description"] == "Repeat `text` (async, with the step's context)."
    )

    process = by_name["process"]
    assert (process["kind"], process["plugin"]) == ("child", None)
    assert set(process["args_schema"]["properties"]) == {"process_id", "stage", "inputs"}
    assert set(by_name["http"]["args_schema"]["properties"]) >= {"url", "json", "ok_status"}


async def test_step_types_are_paginated(api: httpx.AsyncClient) -> None:
    names: list[str] = []
    token = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if token:
            params["continuation_token"] = token
        page = (await api.get("/v2/step-types", params=params)).json()
        assert len(page["items"]) <= 2
        names += [t["name"] for t in page["items"]]
        token = page["continuation_token"]
        if token is None:
            break
    everything = (await api.get("/v2/step-types", params={"limit": 100})).json()["items"]
    assert names == [t["name"] for t in everything] == sorted(names)
    bad = await api.get("/v2/step-types", params={"continuation_token": "nope"})
    assert bad.status_code == 422
    assert (await api.get("/v2/step-types", headers={"x-api-key": ""})).status_code == 401
