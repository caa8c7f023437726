"""Bad input is refused with a 4xx and a JSON error, never a 500: oversized and deeply nested
bodies, huge values, bytes that are not UTF-8, wrong content types, NUL characters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from openruns.settings import Settings
from tests.helpers.api import create_process
from tests.helpers.apps import api_client

ECHO = {
    "inputs": {"text": {"type": "string", "default": ""}, "data": {"type": "object"}},
    "steps": [{"id": "a", "uses": "set", "with": {"n": "{{ inputs.text | length }}"}}],
    "outputs": {"n": "{{ steps.a.n }}"},
}


def _is_clean_4xx(response: httpx.Response) -> bool:
    return 400 <= response.status_code < 500 and isinstance(response.json().get("message"), str)


@pytest.fixture
async def small_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings.model_copy(update={"max_request_bytes": 64 * 1024})) as api:
        yield api


async def test_oversized_bodies_are_413(small_api: httpx.AsyncClient) -> None:
    process = await create_process(small_api, ECHO)
    big = {"process_id": process["id"], "stage": "Draft", "inputs": {"text": "x" * 100_000}}
    response = await small_api.post("/v2/runs", json=big)
    assert response.status_code == 413, response.text
    assert "OPENRUNS_MAX_REQUEST_BYTES" in response.json()["message"]

    async def chunks():  # no Content-Length: the limit holds while the body streams in
        for _ in range(100):
            yield b"x" * 4096

    streamed = await small_api.post(
        "/v2/processes", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text
    lying = await small_api.post(
        "/v2/processes",
        content=b"{" * 10,
        headers={"content-type": "application/json", "content-length": str(10**12)},
    )
    assert lying.status_code == 413


async def test_a_run_larger_than_temporal_takes_is_413(settings: Settings) -> None:
    """Temporal refuses a start over its blob limit (2 MiB): a 413 that says what to do,
    not a 502, and no run."""
    roomy = settings.model_copy(update={"max_request_bytes": 8 * 1024 * 1024})
    async with api_client(roomy) as api:
        process = await create_process(api, ECHO)
        big = {"process_id": process["id"], "stage": "Draft", "inputs": {"text": "x" * 2_500_000}}
        response = await api.post("/v2/runs", json=big)
        assert response.status_code == 413, response.text
        assert "larger than Temporal accepts" in response.json()["message"]
        assert "file_ids" in response.json()["message"]
        listed = await api.get("/v2/runs", params={"process_id": process["id"]})
        assert listed.json()["items"] == []


async def test_malformed_bodies_are_4xx(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, ECHO)
    runs = "/v2/runs"
    start = {"process_id": process["id"], "stage": "Draft"}
    cases: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("POST", runs, b"\xff\xfe\xfa not utf-8", {"content-type": "application/json"}),
        ("POST", runs, b'{"process_id": "\xff\xfe"}', {"content-type": "application/json"}),
        ("POST", runs, b"[" * 100_000 + b"]" * 100_000, {"content-type": "application/json"}),
        ("POST", runs, b'{"a": ' * 5000 + b"1" + b"}" * 5000, {"content-type": "application/json"}),
        ("POST", runs, b"process_id=x&stage=Draft", {"content-type": "application/x-www-form-urlencoded"}),
        ("POST", runs, b"<run/>", {"content-type": "application/xml"}),
        ("POST", runs, b"", {"content-type": "application/json"}),
        ("POST", runs, b"null", {"content-type": "application/json"}),
        ("POST", runs, b"NaN", {"content-type": "application/json"}),
        ("POST", "/v2/processes", b'{"name": "a\\u0000b", "definition": {}}', {"content-type": "application/json"}),
        ("PUT", f"/v2/processes/{process['id']}/draft", b"\x00\x01\x02", {"content-type": "application/json"}),
        ("POST", "/v2/processes", b'{"name": "x", "definition": "a: [: b"}', {"content-type": "application/json"}),
        ("POST", "/v2/processes", b'{"name": "x", "definition": "a: &a [*a]"}', {"content-type": "application/json"}),
    ]  # fmt: skip
    for method, path, body, headers in cases:
        response = await api.request(method, path, content=body, headers=headers)
        assert _is_clean_4xx(response), (path, body[:40], response.status_code, response.text[:200])

    for inputs in (
        {"text": "x" * 500_000},  # a huge value is accepted and runs
        {"text": "a\u0000b\ud7ff\U0001f600"},
        {"data": _nested(30)},
    ):
        response = await api.post(runs, json={**start, "inputs": inputs})
        assert response.status_code == 201, response.text
    deep = b'{"a": ' * 5000 + b"1" + b"}" * 5000
    too_deep = await api.post(
        runs,
        content=b'{"process_id": "%s", "stage": "Draft", "inputs": {"data": %s}}'
        % (process["id"].encode(), deep),
        headers={"content-type": "application/json"},
    )
    assert _is_clean_4xx(too_deep), too_deep.text[:300]
    for invalid in ({"text": 12}, {"text": ["x"]}, {"nope": 1}, [{"name": 1}], "text"):
        response = await api.post(runs, json={**start, "inputs": invalid})
        assert response.status_code == 422, response.text
        assert response.json()["details"], response.text


async def test_query_and_path_garbage_is_4xx(api: httpx.AsyncClient) -> None:
    for path, params in (
        ("/v2/runs", {"limit": "1e9"}),
        ("/v2/runs", {"limit": "-1"}),
        ("/v2/runs", {"state": "Exploded"}),
        ("/v2/runs", {"continuation_token": "not-a-token"}),
        ("/v2/runs", {"continuation_token": "\x00" * 10}),
        ("/v2/runs", {"process_id": "x' OR 1=1 --"}),
        ("/v2/processes", {"continuation_token": "%%%"}),
        ("/v2/runs/" + "x" * 5000, {}),
        ("/v2/processes/%00", {}),
    ):
        response = await api.get(path, params=params)
        assert _is_clean_4xx(response), (path, params, response.status_code, response.text[:200])


async def test_numbers_json_cannot_hold_are_refused(api: httpx.AsyncClient) -> None:
    """NaN, ±Infinity and numbers past a double's range are refused with a 422 saying which,
    wherever they are: no run (or revision) carries them on as ``null``."""
    process = await create_process(
        api, {"inputs": {"n": {"type": "number", "required": True}, "data": {"type": "object"}}}
    )
    json_type = {"content-type": "application/json"}
    start = b'{"process_id": "%s", "stage": "Draft", "inputs": %s}'
    for inputs, says in (
        (b'{"n": NaN}', "NaN is not a JSON number"),
        (b'{"n": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"n": 1e400}', "1e400 is out of range"),
        (b'{"n": 1, "data": {"deep": [Infinity]}}', "Infinity is not a JSON number"),
    ):
        response = await api.post(
            "/v2/runs", content=start % (process["id"].encode(), inputs), headers=json_type
        )
        assert response.status_code == 422, response.text
        assert says in response.json()["message"], response.text
    for value in ("NaN", "Infinity", "-inf"):  # as strings, which a number input converts
        response = await api.post(
            "/v2/runs",
            json={"process_id": process["id"], "stage": "Draft", "inputs": {"n": value}},
        )
        assert response.status_code == 422, response.text
        assert response.json()["details"] == [
            {"path": "inputs.n", "message": "expected number: Input should be a finite number"}
        ]
    definition = "steps: [{id: a, uses: set, with: {x: [1, .inf]}}]"  # YAML has them too
    response = await api.post("/v2/processes", json={"name": "yaml-inf", "definition": definition})
    assert response.status_code == 422, response.text
    assert response.json()["details"] == [
        {"path": "definition.steps[0].with.x[1]", "message": "not a finite number"}
    ]
    assert (await api.get("/v2/runs", params={"process_id": process["id"]})).json()["items"] == []


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value
