"""Test cases and test runs against the real dev server and worker."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import assert_eventually
from tests.helpers.actions import act, list_ids
from tests.helpers.api import create_process, start_run, wait_for_state

DOUBLER: dict[str, Any] = {
    "inputs": {"n": {"type": "number", "required": True}},
    "steps": [{"id": "calc", "uses": "set", "with": {"double": "{{ inputs.n * 2 }}"}}],
    "outputs": {"double": "{{ steps.calc.double }}", "label": "n={{ inputs.n }}"},
}
# The draft after an edit: n=2 now doubles wrongly, n=1 fails.
EDITED = {
    "inputs": {"n": {"type": "number", "required": True}},
    "steps": [
        {"id": "guard", "uses": "fail", "if": "{{ inputs.n == 1 }}",
         "with": {"message": "one is not allowed"}},
        {"id": "calc", "uses": "set", "with": {"double": "{{ inputs.n * 3 }}"}},
    ],
    "outputs": {"double": "{{ steps.calc.double }}", "label": "n={{ inputs.n }}"},
}  # fmt: skip


async def _cases(api: httpx.AsyncClient, process_id: str, inputs: list[int]) -> list[dict]:
    runs = [await start_run(api, process_id, inputs={"n": n}) for n in inputs]
    for run in runs:
        assert (await wait_for_state(api, run["id"]))["state"] == "Succeeded"
    results = await act(api, "add_test_case", [run["id"] for run in runs])
    assert all(r["ok"] for r in results), results
    return [r["test_case"] for r in results]


async def _test_run(api: httpx.AsyncClient, process_ids: list[str], stage: str) -> dict[str, Any]:
    response = await api.post("/v2/test-runs", json={"process_ids": process_ids, "stage": stage})
    assert response.status_code == 201, response.text
    started = response.json()
    assert started["id"].startswith("testrun-") and started["state"] == "Running"

    async def read() -> dict[str, Any]:
        got = await api.get(f"/v2/test-runs/{started['id']}")
        assert got.status_code == 200, got.text
        return got.json()

    return await assert_eventually(read, lambda r: r["state"] == "Completed", timeout=30)


async def test_suite_passes_then_catches_a_changed_draft(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, DOUBLER, publish=True)
    one, two = await _cases(api, process["id"], [1, 2])

    passed = await _test_run(api, [process["id"]], "Draft")
    assert passed["totals"] == {"passed": 2, "failed": 0, "error": 0, "pending": 0}
    assert sorted(r["test_case_id"] for r in passed["results"]) == sorted([one["id"], two["id"]])
    assert all(r["outcome"] == "passed" and r["diff"] == [] for r in passed["results"])

    response = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": EDITED})
    assert response.status_code == 200
    report = await _test_run(api, [process["id"]], "Draft")
    assert report["totals"] == {"passed": 0, "failed": 1, "error": 1, "pending": 0}
    results = {r["test_case_id"]: r for r in report["results"]}
    errored, failed = results[one["id"]], results[two["id"]]
    assert errored["outcome"] == "error" and "one is not allowed" in errored["error"]
    assert failed["outcome"] == "failed"
    assert failed["diff"] == [
        {"key": "double", "expected": 4, "actual": 6, "truncated": False, "missing": None}
    ]

    # The test runs were real runs with trigger "test": hidden from the default list.
    test_run = await wait_for_state(api, failed["run_id"])
    assert (test_run["trigger"], test_run["revision"], test_run["stage"]) == ("test", 2, "Draft")
    assert test_run["inputs"] == {"n": 2}
    default = await list_ids(api, process_id=process["id"])
    assert failed["run_id"] not in default and len(default) == 2
    tests = await list_ids(api, process_id=process["id"], trigger="test")
    assert failed["run_id"] in tests and len(tests) == 4  # two test runs of two cases

    # A test run is a Temporal workflow but not a run: actions answer "not found" for it.
    [not_a_run] = await act(api, "archive", [report["id"]])
    assert not_a_run["status"] == 404 and not not_a_run["ok"]

    published = await _test_run(api, [process["id"]], "Published")
    assert published["totals"]["passed"] == 2 and published["stage"] == "Published"


BIG: dict[str, Any] = {
    "inputs": {"n": {"type": "number", "required": True}},
    "steps": [{"id": "pad", "uses": "set", "with": {"text": "{{ 'x' * 200000 }}"}}],
    "outputs": {"big": "{{ steps.pad.text }}", "n": "{{ inputs.n }}"},
}


async def test_large_outputs_that_differ_are_failed_cases_with_cut_diffs(
    api: httpx.AsyncClient, worker: object
) -> None:
    """Seven cases whose 200 KB outputs all change: each is ``failed`` with a diff that keeps
    the start of both values; the whole diffs used to go into every memo upsert, and Temporal
    terminated the test run (its task over 4 MiB), reporting every case as an error."""
    process = await create_process(api, BIG, publish=True)
    await _cases(api, process["id"], list(range(7)))
    changed = {**BIG, "steps": [{"id": "pad", "uses": "set",
                                 "with": {"text": "{{ 'y' * 200000 }}"}}]}  # fmt: skip
    response = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": changed})
    assert response.status_code == 200, response.text
    report = await _test_run(api, [process["id"]], "Draft")
    assert report["totals"] == {"passed": 0, "failed": 7, "error": 0, "pending": 0}, report
    for result in report["results"]:
        [entry] = result["diff"]
        assert entry["key"] == "big" and entry["truncated"] is True
        assert entry["expected"].startswith('"xxxx') and entry["actual"].startswith('"yyyy')
        assert entry["expected"].endswith("(200,002 characters)")


async def test_more_cases_than_a_test_runs_input_takes_is_413(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, BIG, publish=True)
    await _cases(api, process["id"], list(range(12)))  # 12 expected outputs of 200 KB
    response = await api.post("/v2/test-runs", json={"process_ids": [process["id"]]})
    assert response.status_code == 413, response.text
    assert "test fewer processes at a time" in response.json()["message"]


async def test_compare_limits_the_checked_keys(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, DOUBLER)
    run = await start_run(api, process["id"], inputs={"n": 2})
    await wait_for_state(api, run["id"])
    [result] = await act(api, "add_test_case", [run["id"]], compare=["label"])
    assert result["test_case"]["compare"] == ["label"]
    [bad] = await act(api, "add_test_case", [run["id"]], compare=["nope"])
    assert bad["status"] == 422 and "'nope' is not an output" in bad["error"]

    changed = {**DOUBLER, "outputs": {**DOUBLER["outputs"], "double": 0}}
    await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": changed})
    report = await _test_run(api, [process["id"]], "Draft")
    assert report["totals"]["passed"] == 1


async def test_test_run_while_running_and_bad_requests(
    api: httpx.AsyncClient, worker: object
) -> None:
    slow = {"steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 2}}], "outputs": {"ok": 1}}
    process = await create_process(api, slow)
    run = await start_run(api, process["id"])
    await wait_for_state(api, run["id"])
    await act(api, "add_test_case", [run["id"]])

    response = await api.post("/v2/test-runs", json={"process_ids": [process["id"]]})
    running = (await api.get(f"/v2/test-runs/{response.json()['id']}")).json()
    assert running["state"] == "Running" and running["totals"]["pending"] == 1
    assert running["results"] == []
    done = await _test_run(api, [process["id"]], "Draft")
    assert done["totals"]["passed"] == 1

    empty = await create_process(api, slow)
    response = await api.post("/v2/test-runs", json={"process_ids": [empty["id"]]})
    assert response.status_code == 422 and "no test cases" in response.json()["message"]
    response = await api.post(
        "/v2/test-runs", json={"process_ids": [process["id"]], "stage": "Published"}
    )
    assert response.status_code == 409
    assert (await api.post("/v2/test-runs", json={"process_ids": ["proc-x"]})).status_code == 404
    assert (await api.get("/v2/test-runs/testrun-nope")).status_code == 404
    assert (await api.get(f"/v2/test-runs/{run['id']}")).status_code == 404


async def test_list_and_delete_test_cases(api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, DOUBLER)
    cases = await _cases(api, process["id"], [1, 2, 3])
    page = (await api.get(f"/v2/processes/{process['id']}/test-cases", params={"limit": 2})).json()
    rest = await api.get(
        f"/v2/processes/{process['id']}/test-cases",
        params={"continuation_token": page["continuation_token"]},
    )
    listed = page["items"] + rest.json()["items"]
    assert len(page["items"]) == 2 and rest.json()["continuation_token"] is None
    assert sorted(c["id"] for c in listed) == sorted(c["id"] for c in cases)
    assert [c["created_at"] for c in listed] == sorted(c["created_at"] for c in listed)

    assert (await api.delete(f"/v2/test-cases/{cases[0]['id']}")).status_code == 204
    assert (await api.delete(f"/v2/test-cases/{cases[0]['id']}")).status_code == 404
    assert (await api.get(f"/v2/test-cases/{cases[1]['id']}")).json()["inputs"] == {"n": 2}
    listed = (await api.get(f"/v2/processes/{process['id']}/test-cases")).json()["items"]
    assert len(listed) == 2
    assert (await api.get("/v2/processes/proc-nope/test-cases")).status_code == 404

    await api.delete(f"/v2/processes/{process['id']}")  # its test cases go with it
    assert (await api.get(f"/v2/test-cases/{cases[1]['id']}")).status_code == 404


async def test_a_case_whose_run_times_out_names_the_timeout(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, DOUBLER)
    await _cases(api, process["id"], [2])
    nap = {"id": "nap", "uses": "sleep", "with": {"seconds": 30}}
    slow = {**DOUBLER, "timeout": 1, "steps": [nap, *DOUBLER["steps"]]}
    response = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": slow})
    assert response.status_code == 200, response.text
    report = await _test_run(api, [process["id"]], "Draft")
    [result] = report["results"]
    assert (result["outcome"], result["error"]) == ("error", "the run exceeded its timeout of 1 s")
