"""A template attack through the API: refused at save (422) or the run fails cleanly naming
the limit, and the same worker goes on serving the next run."""

from __future__ import annotations

import httpx

from tests.helpers.api import create_process, start_run, wait_for_state

COSTLY = {
    "nested": "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
    "range": "{{ range(10**9) | list }}",
    "doubling": "{% set x = 'a' * 1000000 %}{% set x = x ~ x ~ x %}{{ x }}",
    "padding": "{{ 'x' | center(10**9) }}",
}


async def test_internals_are_refused_when_saved(api: httpx.AsyncClient) -> None:
    for text in ("{{ ().__class__.__mro__ }}", "{% import 'os' as os %}{{ 1 }}"):
        definition = {"steps": [{"id": "a", "uses": "set", "with": {"x": text}}]}
        response = await api.post("/v2/processes", json={"name": "evil", "definition": definition})
        assert response.status_code == 422, response.text
        assert response.json()["details"][0]["path"] == "definition.steps[0].with.x"


async def test_deeply_nested_templates_are_refused_when_saved(api: httpx.AsyncClient) -> None:
    deep = "{{ " + "(" * 100 + "1" + ")" * 100 + " }}"
    definition = {"steps": [{"id": "a", "uses": "set", "with": {"x": "ok", "y": deep}}]}
    response = await api.post("/v2/processes", json={"name": "deep", "definition": definition})
    assert response.status_code == 422, response.text
    assert response.json()["details"] == [
        {
            "path": "definition.steps[0].with.y",
            "message": "template does not parse: it nests too deeply",
        }
    ]


async def test_a_value_that_blows_up_when_walked_fails_its_step_at_once(
    api: httpx.AsyncClient, worker: object
) -> None:
    """Five references to one list of a thousand references to one list of a thousand zeros:
    its repr walks five million items, its native value took Temporal's deadlock detector's
    two seconds and more, and the run waited, Pending, for its timeout."""
    for text in (
        "{{ ([[[0] * 1000] * 1000] * 5) | pprint | length }}",
        "{{ [[[0] * 1000] * 1000] * 5 }}",
        "{{ ('x' * 600000) | wordwrap(1) | length }}",
    ):
        definition = {"timeout": 60, "steps": [{"id": "boom", "uses": "set", "with": {"n": text}}]}
        process = await create_process(api, definition)
        run = await start_run(api, process["id"])
        done = await wait_for_state(api, run["id"], timeout=10)  # it used to wait a minute
        assert done["state"] == "Failed", (text, done)
        assert done["error"]["step"] == "boom"
        assert "template error" in done["error"]["message"], done["error"]


async def test_costly_templates_fail_the_run_and_the_worker_serves_on(
    api: httpx.AsyncClient, worker: object
) -> None:
    for name, text in COSTLY.items():
        process = await create_process(
            api, {"steps": [{"id": "boom", "uses": "set", "with": {"x": text}}]}
        )
        done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
        assert done["state"] == "Failed", (name, done)
        assert done["error"]["step"] == "boom"
        assert "template error" in done["error"]["message"], done["error"]
        fine = await create_process(api, {"outputs": {"ok": "{{ 6 * 7 }}"}})
        after = await wait_for_state(api, (await start_run(api, fine["id"]))["id"])
        assert after["state"] == "Succeeded" and after["outputs"] == {"ok": 42}, name
