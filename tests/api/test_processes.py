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


async def test_every_revision_can_be_read_the_published_one_too(api: httpx.AsyncClient) -> None:
    process = await create_process(api, SIMPLE)
    pid, versions = process["id"], {1: SIMPLE}
    for n in (2, 3):
        versions[n] = {**SIMPLE, "outputs": {"version": n}}
        saved = await api.put(f"/v2/processes/{pid}/draft", json={"definition": versions[n]})
        assert saved.status_code == 200, saved.text
        if n == 2:
            assert (await api.post(f"/v2/processes/{pid}/publish")).status_code == 200

    # The process shows the draft's definition (3); the published revision (2) is readable.
    shown = (await api.get(f"/v2/processes/{pid}")).json()
    assert (shown["draft_revision"], shown["published_revision"]) == (3, 2)
    assert shown["definition"]["outputs"] == {"version": 3}
    published = await api.get(f"/v2/processes/{pid}/revisions/2")
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["definition"]["outputs"] == {"version": 2}
    assert (body["process_id"], body["revision"]) == (pid, 2)
    assert (body["published"], body["draft"]) == (True, False)
    assert body["created_at"]
    first = (await api.get(f"/v2/processes/{pid}/revisions/1")).json()
    assert first["definition"]["steps"] == shown["definition"]["steps"]
    assert first["definition"]["outputs"] == SIMPLE["outputs"]
    assert (first["published"], first["draft"]) == (False, False)

    # The list: newest first, paginated like every list, without definitions.
    listed = (await api.get(f"/v2/processes/{pid}/revisions")).json()
    assert [(r["revision"], r["draft"], r["published"]) for r in listed["items"]] == [
        (3, True, False),
        (2, False, True),
        (1, False, False),
    ]
    assert listed["continuation_token"] is None
    assert all(r["definition"] is None for r in listed["items"])
    page = (await api.get(f"/v2/processes/{pid}/revisions", params={"limit": 2})).json()
    assert [r["revision"] for r in page["items"]] == [3, 2]
    rest = await api.get(
        f"/v2/processes/{pid}/revisions",
        params={"limit": 2, "continuation_token": page["continuation_token"]},
    )
    assert [r["revision"] for r in rest.json()["items"]] == [1]
    assert rest.json()["continuation_token"] is None


async def test_revisions_that_do_not_exist_are_404_and_bad_numbers_422(
    api: httpx.AsyncClient,
) -> None:
    pid = (await create_process(api, SIMPLE))["id"]
    for path in (f"/v2/processes/{pid}/revisions/2", "/v2/processes/proc-nope/revisions/1"):
        missing = await api.get(path)
        assert missing.status_code == 404, missing.text
        assert "not found" in missing.json()["message"]
    assert (await api.get("/v2/processes/proc-nope/revisions")).status_code == 404
    for bad in ("abc", "1.5", "0", "-1", str(2**31)):
        response = await api.get(f"/v2/processes/{pid}/revisions/{bad}")
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["details"][0]["path"].endswith("revision")
    await create_process(api, SIMPLE)
    other_list = (await api.get("/v2/processes", params={"limit": 1})).json()
    for token in (
        "garbage!",
        other_list["continuation_token"],
        "eyJyZXYiOiAxMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwfQ",
    ):
        response = await api.get(
            f"/v2/processes/{pid}/revisions", params={"continuation_token": token}
        )
        assert response.status_code == 422, response.text
    assert (
        await api.get(f"/v2/processes/{pid}/revisions", params={"limit": 101})
    ).status_code == 422
