"""A 422's ``details`` name the fields of the request a client sent, in one style
(``inputs``, ``inputs[1].name``, ``file_ids[0]``), never pydantic's names for the types it
tried (``inputs.dict[str,any]``), and say what was expected."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.api import create_process

GREETING = {
    "inputs": {"who": {"type": "string", "default": "you"}},
    "steps": [{"id": "a", "uses": "set", "with": {"x": "{{ inputs.who }}"}}],
}
INPUTS_EXPECTED = 'expected an object or a list of {"name", "value"}'


def _details(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    return response.json()["details"]


async def test_a_value_of_none_of_a_fields_shapes_is_one_error_naming_the_field(
    api: httpx.AsyncClient,
) -> None:
    process = await create_process(api, GREETING, publish=True)
    pid = process["id"]
    for inputs in ("abc", 5, True):
        response = await api.post("/v2/runs", json={"process_id": pid, "inputs": inputs})
        assert _details(response) == [{"path": "inputs", "message": INPUTS_EXPECTED}]
    response = await api.post(
        f"/v2/processes/{pid}/schedules", json={"cron": "0 9 * * *", "inputs": "abc"}
    )
    assert _details(response) == [{"path": "inputs", "message": INPUTS_EXPECTED}]

    expected = [{"path": "definition", "message": "expected an object, or YAML or JSON text"}]
    response = await api.post("/v2/processes", json={"name": "zz", "definition": 5})
    assert _details(response) == expected
    response = await api.put(f"/v2/processes/{pid}/draft", json={"definition": [1]})
    assert _details(response) == expected

    # Next to other errors, in the order pydantic found them.
    response = await api.post("/v2/runs", json={"process_id": 7, "inputs": "abc", "x": 1})
    assert _details(response) == [
        {"path": "process_id", "message": "Input should be a valid string"},
        {"path": "inputs", "message": INPUTS_EXPECTED},
        {"path": "x", "message": "Extra inputs are not permitted"},
    ]


async def test_list_items_are_named_with_brackets_everywhere(api: httpx.AsyncClient) -> None:
    pid = (await create_process(api, GREETING))["id"]
    start = {"process_id": pid, "stage": "Draft"}

    response = await api.post("/v2/runs", json={**start, "file_ids": ["f", 3]})
    assert _details(response) == [
        {"path": "file_ids[1]", "message": "Input should be a valid string"}
    ]
    response = await api.post(
        "/v2/runs", json={**start, "inputs": [{"name": "who", "value": "x"}, 5]}
    )
    [detail] = _details(response)
    assert detail["path"] == "inputs[1]"
    twice = [{"name": "who", "value": "x"}, {"name": "who", "value": "y"}]
    response = await api.post("/v2/runs", json={**start, "inputs": twice})
    [detail] = _details(response)
    assert detail["path"] == "inputs[1].name"
    assert "who" in detail["message"]


async def test_bodies_that_are_not_objects_and_validator_messages_read_plainly(
    api: httpx.AsyncClient,
) -> None:
    for body in (b"5", b"[]", b'"x"', b"null"):
        response = await api.post(
            "/v2/processes", content=body, headers={"content-type": "application/json"}
        )
        assert _details(response) == [{"path": "body", "message": "expected a JSON object"}]
    response = await api.post("/v2/processes")
    assert _details(response) == [{"path": "body", "message": "a JSON body is required"}]
    pid = (await create_process(api, GREETING, publish=True))["id"]
    response = await api.post(
        f"/v2/processes/{pid}/schedules", json={"cron": "0 9 * * *", "stage": "Draft"}
    )
    [detail] = _details(response)
    assert detail["path"] == "stage"
    assert detail["message"].startswith("schedules run the published revision only"), detail
    response = await api.get("/v2/processes", params={"limit": "x"})
    assert (_details(response))[0]["path"] == "query.limit"
