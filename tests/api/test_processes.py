"""Processes over the API: revisions, publishing, validation errors that name the path."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.helpers.api import create_process

SIMPLE = {
    "steps": [{"id": "a", "uses": "set", "with": {"x": 1}}],
    "outputs": {"x": "{{ steps.a.x }}"},
}


async def test_create_read_edit_publish_delete(api: httpx.AsyncClient) -> None:
    process = await create_process(api, SIMPLE, name="Invoice intake")
    assert process["stage"] == "Draft"
    assert process["draft_revision"] == 1 and process["published_revision"] is None
    assert process["definition"]["steps"][0]["with"] == {"x": 1}

    edited = {**SIMPLE, "outputs": {"y": 2}}
    response = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": edited})
    assert response.status_code == 200
    assert response.json()["draft_revision"] == 2
    assert response.json()["definition"]["outputs"] == {"y": 2}

    stale = await api.put(
        f"/v2/processes/{process['id']}/draft", json={"definition": SIMPLE, "base_revision": 1}
    )
    assert stale.status_code == 409

    published = (await api.post(f"/v2/processes/{process['id']}/publish")).json()
    assert published["stage"] == "Published" and published["published_revision"] == 2

    assert (await api.get(f"/v2/processes/{process['id']}")).json()["published_revision"] == 2
    assert (await api.delete(f"/v2/processes/{process['id']}")).status_code == 204
    assert (await api.get(f"/v2/processes/{process['id']}")).status_code == 404


async def test_yaml_definitions_are_accepted(api: httpx.AsyncClient) -> None:
    text = "steps:\n  - id: a\n    uses: set\n    with: {x: 1}\noutputs: {x: '{{ steps.a.x }}'}\n"
    response = await api.post("/v2/processes", json={"name": "yaml-process", "definition": text})
    assert response.status_code == 201, response.text
    assert response.json()["definition"]["outputs"] == {"x": "{{ steps.a.x }}"}


async def test_yaml_aliases_are_fine_until_they_expand_past_what_a_run_can_carry(
    api: httpx.AsyncClient,
) -> None:
    shared = "steps:\n  - id: a\n    uses: set\n    with: &w {x: 1, y: [1, 2]}\n" + (
        "  - id: b\n    uses: set\n    with: *w\n"
    )
    response = await api.post("/v2/processes", json={"name": "anchors", "definition": shared})
    assert response.status_code == 201, response.text
    assert response.json()["definition"]["steps"][1]["with"] == {"x": 1, "y": [1, 2]}

    # "Billion laughs": each level holds ten aliases of the one before; 7 levels would be
    # 10 million items, stored and walked for a 500-byte request.
    levels = ['a0: &a0 ["x"]'] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)
    ]
    laughs = "steps:\n  - id: s\n    uses: set\n    with:\n" + "".join(
        f"      {line}\n" for line in levels
    )
    began = time.monotonic()
    response = await api.post("/v2/processes", json={"name": "laughs", "definition": laughs})
    assert response.status_code == 422, response.text
    assert "YAML aliases" in response.json()["details"][0]["message"]
    assert time.monotonic() - began < 5

    loop = "steps:\n  - id: s\n    uses: set\n    with: {v: &v [*v]}\n"  # refers to itself
    response = await api.post("/v2/processes", json={"name": "loop", "definition": loop})
    assert response.status_code == 422, response.text


async def test_a_definition_nested_hundreds_of_levels_deep_is_a_422(
    api: httpx.AsyncClient,
) -> None:
    for depth in (400, 1000):  # YAML text: PyYAML itself recurses too deep at 1,000
        deep = "[" * depth + "1" + "]" * depth
        text = f"steps:\n  - id: s\n    uses: set\n    with: {{v: {deep}}}\n"
        response = await api.post("/v2/processes", json={"name": "deep", "definition": text})
        assert response.status_code == 422, response.text
        assert "nested deeper than 64 levels" in response.json()["details"][0]["message"]


async def test_duplicate_names_conflict(api: httpx.AsyncClient) -> None:
    await create_process(api, SIMPLE, name="same-name")
    response = await api.post("/v2/processes", json={"name": "same-name", "definition": SIMPLE})
    assert response.status_code == 409
    assert "already exists" in response.json()["message"]


@pytest.mark.parametrize(
    ("definition", "path", "fragment"),
    [
        ({"steps": [{"id": "a", "uses": "nope"}]}, "definition.steps[0].uses", "unknown step type"),
        (
            {"steps": [{"id": "a", "uses": "set"}, {"id": "a", "uses": "set"}]},
            "definition.steps[1].id",
            "duplicate",
        ),
        (
            {"steps": [{"id": "a", "uses": "set", "with": {"x": "{{ 1 + }}"}}]},
            "definition.steps[0].with.x",
            "does not parse",
        ),
        ({"timeout": True}, "definition.timeout", "not a boolean"),  # was a 1-second timeout
        ({"timeout": "60"}, "definition.timeout", "not a string"),
        (
            {"steps": [{"id": "a", "uses": "http", "with": {"url": "http://x"}, "timeout": True}]},
            "definition.steps[0].timeout",
            "not a boolean",
        ),
        (
            {"steps": [{"id": "a", "uses": "set", "with": {"x": "{{ steps.ghost.y }}"}}]},
            "definition.steps[0].with.x",
            "does not exist",
        ),
        ({"outputs": {"o": "{{ steps.ghost }}"}}, "definition.outputs.o", "does not exist"),
        ({"steps": [{"id": "Bad Id", "uses": "set"}]}, "definition.steps[0].id", "pattern"),
        (
            {"steps": [{"id": "s", "uses": "sleep", "with": {"seconds": "soon"}}]},
            "definition.steps[0].with.seconds",
            "number",
        ),
        ({"timeout": 0}, "definition.timeout", "greater than"),
        ({"stepz": []}, "definition.stepz", "Extra inputs"),
        (
            {"steps": [{"id": "s", "uses": "set", "retry": {"max_attempts": 3}}]},
            "definition.steps[0].retry",
            "activity steps only",
        ),
        (
            {"steps": [{"id": "s", "uses": "sleep", "with": {"seconds": 1}, "timeout": 5}]},
            "definition.steps[0].timeout",
            "activity steps only",
        ),
        (
            {
                "steps": [
                    {
                        "id": "s",
                        "uses": "process",
                        "with": {"process_id": "x"},
                        "retry": {"max_attempts": 2},
                    }
                ]
            },
            "definition.steps[0].retry",
            "not 'process'",
        ),  # fmt: skip
    ],
)
async def test_bad_definitions_are_422_naming_the_path(
    api: httpx.AsyncClient, definition: dict, path: str, fragment: str
) -> None:
    response = await api.post("/v2/processes", json={"name": "bad", "definition": definition})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["message"] == "the definition is not valid"
    matching = [d for d in body["details"] if d["path"] == path]
    assert matching, body["details"]
    assert fragment in matching[0]["message"]


async def test_list_is_paginated(api: httpx.AsyncClient) -> None:
    ids = [(await create_process(api, SIMPLE))["id"] for _ in range(5)]
    seen: list[str] = []
    token = None
    while True:
        params = {"limit": 2, **({"continuation_token": token} if token else {})}
        page = (await api.get("/v2/processes", params=params)).json()
        seen += [p["id"] for p in page["items"]]
        token = page["continuation_token"]
        if not token:
            break
    assert seen == list(reversed(ids))
    bad = await api.get("/v2/processes", params={"continuation_token": "garbage!"})
    assert bad.status_code == 422
    assert (await api.get("/v2/processes", params={"limit": 1000})).status_code == 422
