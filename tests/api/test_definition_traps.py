"""Definition-language traps, through the API and a worker on the real dev server: a text
``if`` (always true), ``float`` turning a bad number into 0, an input that is not declared."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.helpers.api import create_process, start_run, wait_for_state


async def _refused(
    api: httpx.AsyncClient, definition: dict[str, Any] | str
) -> list[dict[str, str]]:
    body = {"name": f"trap-{uuid.uuid4().hex[:8]}", "definition": definition}
    response = await api.post("/v2/processes", json=body)
    assert response.status_code == 422, response.text
    details: list[dict[str, str]] = response.json()["details"]
    return details


def _alert(condition: Any) -> dict[str, Any]:
    return {
        "inputs": {"amount": {"type": "number", "required": True}},
        "steps": [{"id": "alert", "if": condition, "uses": "fail",
                   "with": {"message": "amount {{ inputs.amount }} is over 1000"}}],
    }  # fmt: skip


async def test_a_condition_written_as_text_is_refused_and_an_expression_decides(
    api: httpx.AsyncClient, worker: object
) -> None:
    """``if: "inputs.amount > 1000"`` was saved, and the step ran whatever the amount."""
    for text in ("inputs.amount > 1000", "false", "no"):
        details = await _refused(api, _alert(text))
        assert [d["path"] for d in details] == ["definition.steps[0].if"], details
    details = await _refused(api, _alert("inputs.amount > 1000"))
    assert details[0]["message"].endswith('write it as "{{ inputs.amount > 1000 }}"')

    process = await create_process(api, _alert("{{ inputs.amount > 1000 }}"))
    small = await start_run(api, process["id"], inputs={"amount": 10})
    done = await wait_for_state(api, small["id"])
    assert done["state"] == "Succeeded", done
    assert [(s["id"], s["state"]) for s in done["steps"]] == [("alert", "Skipped")]
    large = await start_run(api, process["id"], inputs={"amount": 2000})
    done = await wait_for_state(api, large["id"])
    assert done["state"] == "Failed" and done["error"]["step"] == "alert", done
    assert "amount 2000 is over 1000" in done["error"]["message"]


async def test_float_given_a_bad_number_fails_the_run_instead_of_passing_as_zero(
    api: httpx.AsyncClient, worker: object
) -> None:
    """A European total went through ``map('float')`` as 0.0, and the limit check passed."""
    definition = {
        "inputs": {"rows": {"type": "array", "required": True}},
        "steps": [
            {"id": "total", "uses": "set",
             "with": {"sum": "{{ inputs.rows | map(attribute='total') | map('float') | sum }}"}},
            {"id": "limit", "if": "{{ steps.total.sum > 1000 }}", "uses": "fail",
             "with": {"message": "total {{ steps.total.sum }} is over 1000"}},
        ],
        "outputs": {"total": "{{ steps.total.sum }}"},
    }  # fmt: skip
    process = await create_process(api, definition)
    rows = [{"total": "15.000,00"}, {"total": "12.50"}]
    run = await start_run(api, process["id"], inputs={"rows": rows})
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed", done
    assert done["error"]["step"] == "total"
    assert "'15.000,00' is not a number (float filter" in done["error"]["message"]
    assert done["steps"][0]["state"] == "Failed"

    good = await start_run(api, process["id"], inputs={"rows": [{"total": "12.50"}]})
    done = await wait_for_state(api, good["id"])
    assert done["state"] == "Succeeded" and done["outputs"] == {"total": 12.5}, done


async def test_an_input_that_is_not_declared_is_refused_when_saved(
    api: httpx.AsyncClient, worker: object
) -> None:
    """``{{ inputs.customer }}`` was saved, and every run failed with "'dict object' has no
    attribute 'customer'": a run only takes declared inputs."""
    definition = {
        "inputs": {"amount": {"type": "number", "default": 0}},
        "steps": [
            {"id": "total", "uses": "set", "with": {"gross": "{{ inputs.amount * 1.2 }}"}},
            {"id": "lookup", "uses": "http",
             "with": {"url": "https://crm.example/customers/{{ inputs.customer }}"}},
        ],
    }  # fmt: skip
    assert await _refused(api, definition) == [
        {"path": "definition.steps[1].with.url",
         "message": "inputs.customer is not a declared input (declared: amount)"}
    ]  # fmt: skip

    guarded = {
        "inputs": {"amount": {"type": "number", "default": 0}},
        "steps": [],
        "outputs": {"note": "{{ inputs.note | default('none') }}",
                    "customer": "{{ inputs.customer if inputs.customer is defined else '-' }}"},
    }  # fmt: skip
    process = await create_process(api, guarded)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    assert done["state"] == "Succeeded", done
    assert done["outputs"] == {"note": "none", "customer": "-"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps:\n- id: a\n  uses: set\n  with: {o: !!binary /w==}\n", "'binary' values"),
        ("steps:\n- id: a\n  uses: set\n  with: {o: !!binary aGVsbG8=}\n", "'binary' values"),
        ("steps:\n- id: a\n  uses: set\n  with: {o: !!set {a, b}}\n", "'set' values"),
        ("steps:\n- id: a\n  uses: set\n  with: {o: !!omap [a: 1]}\n", "'omap' values"),
        ("steps:\n- id: a\n  uses: set\n  with: {o: !!timestamp 2024-01-01}\n", "'timestamp'"),
    ],
)
async def test_yaml_tags_that_are_not_json_data_are_refused(
    api: httpx.AsyncClient, text: str, message: str
) -> None:
    """They were a 500 (bytes that are not UTF-8) or silently became other data."""
    [detail] = await _refused(api, text)
    assert message in detail["message"], detail


async def test_an_unquoted_date_is_text_and_a_nul_is_refused(api: httpx.AsyncClient) -> None:
    text = "steps:\n- id: a\n  uses: set\n  with: {day: 2024-01-01, at: 2024-01-01 10:00:00}\n"
    process = await create_process(api, text)
    assert process["definition"]["steps"][0]["with"] == {
        "day": "2024-01-01", "at": "2024-01-01 10:00:00"
    }  # fmt: skip
    details = await _refused(api, {"steps": [{"id": "a", "uses": "set", "with": {"t": "a\0b"}}]})
    assert details == [
        {"path": "definition.steps[0].with.t", "message": "text cannot hold NUL characters"}
    ]
    response = await api.post(
        "/v2/processes", json={"name": "nul", "description": "a\0b", "definition": {}}
    )
    assert response.status_code == 422 and response.json()["details"][0]["path"] == "description"
