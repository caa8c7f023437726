"""The Test Suite page over HTTP: empty, listing cases, refusing an empty choice, deleting."""

from __future__ import annotations

import httpx

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
