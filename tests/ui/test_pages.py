"""Pages over HTTP: the Run form generated from the declared inputs, starting runs from it,
the run page, and errors shown as pages."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
from temporalio.client import Client

from api.ui.test_suite import CASES_PER_PAGE, SHOWN_PER_PROCESS
from openruns.settings import Settings
from openruns.store import Database
from openruns.store import test_cases as case_repo
from tests.helpers.api import create_process, wait_for_state
from tests.helpers.schedules import create_schedule
from tests.helpers.ui import log_in

TYPED = {
    "inputs": {
        "customer": {"type": "string", "required": True, "description": "Who pays."},
        "amount": {"type": "number", "default": 10},
        "count": {"type": "integer"},
        "express": {"type": "boolean", "default": False},
        "currency": {"type": "string", "enum": ["EUR", "USD"], "default": "EUR"},
        "lines": {"type": "array"},
    },
    "steps": [
        {"id": "total", "uses": "set",
         "with": {"gross": "{{ inputs.amount * 1.2 }}", "who": "{{ inputs.customer }}"}},
    ],
    "outputs": {"gross": "{{ steps.total.gross }}", "who": "{{ steps.total.who }}",
                "lines": "{{ inputs.lines }}", "currency": "{{ inputs.currency }}"},
}  # fmt: skip


def _field(html: str, name: str) -> str:
    match = re.search(rf'<(input|select|textarea)[^>]*name="input\.{name}"[^>]*>', html)
    assert match, f"no field for {name}"
    return match.group(0)


async def test_the_run_form_follows_the_declared_inputs_and_starts_a_run(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    process = await create_process(api, TYPED, name="typed-invoice")
    csrf = await log_in(ui_http, api_key)
    page = await ui_http.get(f"/ui/processes/{process['id']}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "required" in _field(html, "customer") and 'type="text"' in _field(html, "customer")
    assert 'type="number"' in _field(html, "amount") and 'value="10"' in _field(html, "amount")
    assert 'step="1"' in _field(html, "count")
    assert _field(html, "express").startswith("<select") and _field(html, "currency").startswith(
        "<select"
    )
    assert '<option value="&#34;EUR&#34;" selected>EUR</option>' in html
    assert _field(html, "lines").startswith("<textarea")
    assert 'aria-describedby="run-draft-customer-hint"' in _field(html, "customer")
    assert "Run Published" not in html  # nothing published yet: only the Draft can run
    assert process["email_address"] in html

    form = {
        "csrf_token": csrf,
        "stage": "Draft",
        "idempotency_key": "form-1",
        "input.customer": "ACME",
        "input.amount": "",
        "input.count": "",
        "input.express": "",
        "input.currency": '"USD"',
        "input.lines": "[1, 2",
    }
    bad = await ui_http.post(f"/ui/processes/{process['id']}/run", data=form)
    assert bad.status_code == 422 and "not valid JSON" in bad.text
    assert 'value="ACME"' in bad.text  # the form comes back as it was sent

    missing = await ui_http.post(
        f"/ui/processes/{process['id']}/run",
        data={**form, "input.customer": "", "input.lines": "[1, 2]"},
    )
    assert missing.status_code == 422 and "required input is missing" in missing.text

    good = {**form, "input.lines": "[1, 2]", "name": "invoice for ACME"}
    started = await ui_http.post(f"/ui/processes/{process['id']}/run", data=good)
    assert started.status_code == 303, started.text
    run_id = started.headers["location"].removeprefix("/ui/runs/")
    again = await ui_http.post(f"/ui/processes/{process['id']}/run", data=good)
    assert again.headers["location"] == started.headers["location"]  # a double submit: one run
    run = await wait_for_state(api, run_id)
    assert run["state"] == "Succeeded" and run["trigger"] == "manual"
    assert run["outputs"] == {"gross": 12.0, "who": "ACME", "lines": [1, 2], "currency": "USD"}
    assert run["name"] == "invoice for ACME"

    page = await ui_http.get(f"/ui/runs/{run_id}")
    assert page.status_code == 200
    assert "Succeeded" in page.text and "invoice for ACME" in page.text
    assert f'href="{run["temporal_ui_url"]}"' in page.text and "Open in Temporal UI" in page.text
    assert '"gross": 12.0' in unescape(page.text) and "typed-invoice" in page.text
    live = await ui_http.get(f"/ui/runs/{run_id}/live")
    assert live.status_code == 200 and 'data-final="true"' in live.text


async def test_errors_under_ui_are_pages(ui_http: httpx.AsyncClient, api_key: str) -> None:
    await log_in(ui_http, api_key)
    missing = await ui_http.get("/ui/runs/run-does-not-exist")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "run &#39;run-does-not-exist&#39; not found" in missing.text
    bad_filter = await ui_http.get("/ui/processes/proc-x/runs?state=Bogus")
    assert bad_filter.status_code in (404, 422) and "<html" in bad_filter.text
    api_errors = await ui_http.get("/v2/runs/run-x")
    assert api_errors.headers["content-type"] == "application/json"  # the API keeps JSON
    home = await ui_http.get("/", follow_redirects=False)  # the address the banner prints
    assert (home.status_code, home.headers["location"]) == (303, "/ui")


async def test_publish_pages_of_runs_and_actions_without_javascript(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    process = await create_process(api, {"outputs": {"n": "{{ inputs.n }}"},
                                         "inputs": {"n": {"type": "integer"}}})  # fmt: skip
    csrf = await log_in(ui_http, api_key)
    published = await ui_http.post(
        f"/ui/processes/{process['id']}/publish", data={"csrf_token": csrf}
    )
    assert published.status_code == 303
    page = await ui_http.get(published.headers["location"])
    assert "Published revision 1." in page.text and "Run Published" in page.text
    assert (await api.get(f"/v2/processes/{process['id']}")).json()["published_revision"] == 1

    ids = []
    for n in (1, 2, 3):
        started = await ui_http.post(
            f"/ui/processes/{process['id']}/run",
            data={"csrf_token": csrf, "stage": "Published", "input.n": str(n), "name": f"n{n}"},
        )
        assert started.status_code == 303, started.text
        ids.append(started.headers["location"].rsplit("/", 1)[1])
    for n, run_id in zip((1, 2, 3), ids, strict=True):
        assert (await wait_for_state(api, run_id))["outputs"] == {"n": n}

    base = f"/ui/processes/{process['id']}/runs"
    first = await ui_http.get(base, params={"limit": 2, "stage": "Published"})
    assert first.status_code == 200 and first.text.count('name="run_id"') == 2
    next_link = re.search(r'<a href="([^"]+)">Next page</a>', first.text)
    assert next_link, "no next page"
    second = await ui_http.get(unescape(next_link.group(1)))
    assert second.text.count('name="run_id"') == 1 and "First page" in second.text
    shown = re.findall(r'name="run_id" value="([^"]+)"', first.text + second.text)
    assert sorted(shown) == sorted(ids)

    rows = await ui_http.get(f"{base}/rows", params={"stage": "Published"})
    assert rows.text.lstrip().startswith("<tbody") and rows.text.count('name="run_id"') == 3

    archived = await ui_http.post(
        "/ui/runs/actions",
        data={"csrf_token": csrf, "action": "archive", "run_id": ids[:2], "return_to": base},
    )
    assert archived.status_code == 200 and "Archive: 2 of 2 runs done" in archived.text
    assert f'href="{base}">Back to the runs' in archived.text
    listed = await ui_http.get(base)
    assert re.findall(r'name="run_id" value="([^"]+)"', listed.text) == [ids[2]]
    nothing = await ui_http.post("/ui/runs/actions", data={"csrf_token": csrf, "action": "cancel"})
    assert nothing.status_code == 422 and "Select at least one run first." in nothing.text
    many = [ids[2]] + [f"run-{i}" for i in range(500)]  # a scripted form: refused, not cut
    too_many = await ui_http.post(
        "/ui/runs/actions", data={"csrf_token": csrf, "action": "archive", "run_id": many}
    )
    assert too_many.status_code == 422, too_many.text
    assert "Select at most 500 runs at a time (501 selected)." in too_many.text
    listed = await ui_http.get(base)
    assert re.findall(r'name="run_id" value="([^"]+)"', listed.text) == [ids[2]]


async def test_publishing_from_the_ui_carries_the_schedules_along(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, client: Client
) -> None:
    definition = {"timeout": 600, "steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 1}}]}
    process = await create_process(api, definition, publish=True)
    schedule = await create_schedule(api, process["id"], interval_seconds=3600, paused=True)
    try:
        saved = await api.put(
            f"/v2/processes/{process['id']}/draft",
            json={"definition": {**definition, "timeout": 5}},
        )
        assert saved.status_code == 200, saved.text
        csrf = await log_in(ui_http, api_key)
        page = await ui_http.get(f"/ui/processes/{process['id']}")
        assert "Publish r2" in page.text and "every 3600 s" in page.text and "Paused" in page.text
        published = await ui_http.post(
            f"/ui/processes/{process['id']}/publish", data={"csrf_token": csrf}
        )
        assert published.status_code == 303
        action = (await client.get_schedule_handle(schedule["id"]).describe()).schedule.action
        assert getattr(action, "execution_timeout", None) == timedelta(seconds=5)
    finally:
        await api.delete(f"/v2/schedules/{schedule['id']}")


async def test_a_file_input_uploads_the_file_and_big_bodies_are_refused(
    ui_http: httpx.AsyncClient,
    api: httpx.AsyncClient,
    api_key: str,
    worker: object,
    settings: Settings,
) -> None:
    reader = {
        "inputs": {"doc": {"type": "file", "required": True}},
        "steps": [{"id": "read", "uses": "file", "with": {"file_id": "{{ inputs.doc }}"}}],
        "outputs": {"rows": "{{ steps.read }}"},
    }
    process = await create_process(api, reader)
    csrf = await log_in(ui_http, api_key)
    assert 'type="file"' in _field(
        (await ui_http.get(f"/ui/processes/{process['id']}")).text, "doc"
    )
    form = {"csrf_token": csrf, "stage": "Draft", "idempotency_key": "form-with-a-file"}
    started = await ui_http.post(
        f"/ui/processes/{process['id']}/run",
        data=form,
        files={"input.doc": ("rows.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert started.status_code == 303, started.text
    again = await ui_http.post(  # a double submit (no JavaScript to stop it): the same run
        f"/ui/processes/{process['id']}/run",
        data=form,
        files={"input.doc": ("rows.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert again.headers["location"] == started.headers["location"], again.text
    run = await wait_for_state(api, started.headers["location"].rsplit("/", 1)[1])
    assert run["outputs"] == {"rows": [{"a": "1", "b": "2"}]}
    assert run["file_ids"] == [run["inputs"]["doc"]]

    settings.max_file_bytes = 1000
    too_big = await ui_http.post(
        f"/ui/processes/{process['id']}/run",
        data={"csrf_token": csrf, "stage": "Draft"},
        files={"input.doc": ("big.bin", b"x" * 100_000, "application/octet-stream")},
    )
    assert too_big.status_code == 413 and "larger than" in too_big.text


async def test_the_test_suite_page_shows_a_few_cases_per_process_and_pages_the_rest(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, database: Database
) -> None:
    """A process with hundreds of test cases does not make the Test Suite page megabytes of
    HTML: the overview shows the first few of each process, its own page the rest by page."""
    process = await create_process(api, TYPED)
    few = await create_process(api, TYPED)
    async with database.session() as session:
        for i in range(CASES_PER_PAGE + 5):
            await case_repo.add(
                session, process_id=process["id"], source_run_id=f"run-case-{i:03d}",
                name=f"case {i:03d}", inputs={}, file_ids=[], expected_outputs={"i": i},
                compare=None, created_by=None,
            )  # fmt: skip
        await case_repo.add(
            session, process_id=few["id"], source_run_id="run-only", name="only one",
            inputs={}, file_ids=[], expected_outputs={}, compare=None, created_by=None,
        )  # fmt: skip
        await session.commit()
    await log_in(ui_http, api_key)

    def shown(html: str) -> list[str]:
        return re.findall(r"<td data-label=\"Test case\">(case \d{3})", html)

    overview = await ui_http.get("/ui/test-suite")
    assert overview.status_code == 200
    assert shown(overview.text) == [f"case {i:03d}" for i in range(SHOWN_PER_PROCESS)]
    assert f"({CASES_PER_PAGE + 5} cases)" in overview.text and "only one" in overview.text
    more = re.search(r'<a href="([^"]+)">All 105 test cases of', overview.text)
    assert more, "no link to the process's own page"

    first = await ui_http.get(unescape(more.group(1)))
    assert shown(first.text) == [f"case {i:03d}" for i in range(CASES_PER_PAGE)]
    assert "only one" not in first.text
    next_link = re.search(r'<a href="([^"]+)">Next page</a>', first.text)
    assert next_link, "no next page"
    second = await ui_http.get(unescape(next_link.group(1)))
    assert shown(second.text) == [
        f"case {i:03d}" for i in range(CASES_PER_PAGE, CASES_PER_PAGE + 5)
    ]
    assert "Next page" not in second.text
