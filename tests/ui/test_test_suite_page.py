"""The Test Suite page over HTTP: empty, listing cases, refusing an empty choice, deleting, and
a completed test run's outcome at a glance."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.helpers import assert_eventually
from tests.helpers.actions import act
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.ui import log_in


async def test_cases_are_listed_and_deleted(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    csrf = await log_in(ui_http, api_key)
    empty = await ui_http.get("/ui/test-suite")
    assert "No test cases yet." in empty.text and "Run test suite" not in empty.text

    process = await create_process(api, {"outputs": {"x": 1}}, name="constant")
    run = await wait_for_state(api, (await start_run(api, process["id"], name="first"))["id"])
    [added] = await act(api, "add_test_case", [run["id"]])
    case_id = added["test_case"]["id"]
    listed = await ui_http.get("/ui/test-suite")
    assert f'id="case-{case_id}"' in listed.text and "constant" in listed.text
    assert "Run test suite" in listed.text

    nothing = await ui_http.post("/ui/test-suite/run", data={"csrf_token": csrf, "stage": "Draft"})
    assert nothing.status_code == 422 and "choose at least one process" in nothing.text
    many = {"csrf_token": csrf, "stage": "Draft", "process_id": [process["id"]] * 51}
    too_many = await ui_http.post("/ui/test-suite/run", data=many)
    assert too_many.status_code == 422, too_many.text  # not a test run of the first 50
    assert "51 processes chosen; a test run takes at most 50" in too_many.text

    deleted = await ui_http.post(f"/ui/test-cases/{case_id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/ui/test-suite"
    cases = await api.get(f"/v2/processes/{process['id']}/test-cases")
    assert cases.json()["items"] == []


def _picky(*, limit: int, odd_two: bool) -> dict[str, Any]:
    """Doubles ``n``; fails past ``limit``, and (``odd_two``) answers 5 for 2."""
    double = "{{ 5 if inputs.n == 2 else inputs.n * 2 }}" if odd_two else "{{ inputs.n * 2 }}"
    return {
        "inputs": {"n": {"type": "integer", "required": True}},
        "steps": [
            {"id": "guard", "uses": "fail", "if": f"{{{{ inputs.n > {limit} }}}}",
             "with": {"message": "too big"}},
            {"id": "calc", "uses": "set", "with": {"double": double}},
        ],
        "outputs": {"double": "{{ steps.calc.double }}"},
    }  # fmt: skip


async def test_a_completed_test_run_with_failures_does_not_look_like_a_success(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    process = await create_process(api, _picky(limit=100, odd_two=False))
    runs = [await start_run(api, process["id"], inputs={"n": n}) for n in (1, 2, 3)]
    for run in runs:
        await wait_for_state(api, run["id"])
    assert all(r["ok"] for r in await act(api, "add_test_case", [r["id"] for r in runs]))
    csrf = await log_in(ui_http, api_key)

    async def suite() -> str:
        started = await ui_http.post(
            "/ui/test-suite/run",
            data={"csrf_token": csrf, "stage": "Draft", "process_id": process["id"]},
        )
        assert started.status_code == 303, started.text
        test_run_id = started.headers["location"].rsplit("=", 1)[1]
        done = await assert_eventually(
            lambda: ui_http.get(f"/ui/test-suite/runs/{test_run_id}"),
            lambda r: 'data-final="true"' in r.text,
            timeout=30,
        )
        badge = re.search(r'<p class="state-line">\s*(<span class="badge.*?</span>)\s*<', done.text)
        assert badge, done.text
        return re.sub(r"\s+", " ", badge.group(1))

    passing = await suite()
    assert 'class="badge state-completed"' in passing and "✓" in passing
    assert passing.endswith("Completed — 3 passed</span>")

    saved = await api.put(
        f"/v2/processes/{process['id']}/draft",
        json={"definition": _picky(limit=2, odd_two=True)},
    )
    assert saved.status_code == 200, saved.text
    failing = await suite()
    assert 'class="badge state-failed"' in failing and "✓" not in failing and "✕" in failing
    assert failing.endswith("Completed — 1 failed, 1 error, 1 passed</span>")
