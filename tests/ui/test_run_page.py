"""The run page links what a run came from and what it made: the email, its files (downloaded
with the session), the child run of a ``process`` step and back to the parent; it offers only
the actions that apply to the run's state."""

from __future__ import annotations

import html
import json
import re

import httpx
from temporalio.client import Client

from openruns.models import EmailInfo
from openruns.services import run_start
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import Database
from tests.helpers.actions import act
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.ui import log_in
from worker import worker_for


async def test_the_email_and_the_files_of_a_run(
    ui_http: httpx.AsyncClient,
    api: httpx.AsyncClient,
    api_key: str,
    worker: object,
    client: Client,
    database: Database,
    settings: Settings,
) -> None:
    process = await create_process(api, {"outputs": {"subject": "{{ inputs.email.subject }}"}})
    upload = await api.post(
        "/v2/files", files={"file": ("invoice.csv", b"sku,qty\nA-1,2\n", "text/csv")}
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]
    # Started the way the SMTP gateway starts an email run (same service, same inputs).
    email = EmailInfo(sender="ann@example.test", subject="Invoice 42", message_id="<m42@x>")
    request = run_start.StartRequest(
        process_id=process["id"],
        stage=Stage.DRAFT,
        trigger=Trigger.EMAIL,
        inputs={"email": {"subject": "Invoice 42", "sender": "ann@example.test"}},
        name="Invoice 42",
        file_ids=[file_id],
        email=email,
    )
    async with database.sessions() as session:
        started = await run_start.start_run(client, session, settings, request)
    await wait_for_state(api, started.run.id)

    await log_in(ui_http, api_key)
    page = await ui_http.get(f"/ui/runs/{started.run.id}")
    assert page.status_code == 200
    for text in ("ann@example.test", "Invoice 42", "&lt;m42@x&gt;", "invoice.csv", "email"):
        assert text in page.text, text
    link = re.search(r'<a href="(/ui/files/[^"]+)" download>invoice.csv</a>', page.text)
    assert link and link.group(1) == f"/ui/files/{file_id}"
    download = await ui_http.get(link.group(1))
    assert download.status_code == 200 and download.content == b"sku,qty\nA-1,2\n"
    assert 'filename="invoice.csv"' in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]
    ui_http.cookies.clear()
    assert (await ui_http.get(link.group(1))).status_code == 303  # no session, no file


async def test_parent_and_child_runs_link_to_each_other(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    child = await create_process(
        api, {"outputs": {"ok": True}, "steps": [{"id": "noop", "uses": "set", "with": {}}]},
        publish=True,
    )  # fmt: skip
    parent = await create_process(
        api, {"steps": [{"id": "call", "uses": "process", "with": {"process_id": child["id"]}}]}
    )
    run = await wait_for_state(api, (await start_run(api, parent["id"]))["id"])
    child_run_id = run["steps"][0]["child_run_id"]
    await log_in(ui_http, api_key)
    page = await ui_http.get(f"/ui/runs/{run['id']}")
    assert f'href="/ui/runs/{child_run_id}"' in page.text
    child_page = await ui_http.get(f"/ui/runs/{child_run_id}")
    assert "Parent run" in child_page.text and f'href="/ui/runs/{run["id"]}"' in child_page.text


def _offered(html: str) -> list[str]:
    """The actions a run's page shows (a hidden button is not offered)."""
    form = re.search(r'<form[^>]*aria-label="Actions on this run">(.*?)</form>', html, re.S)
    assert form, "no actions on the page"
    buttons = re.findall(
        r'<button type="submit" name="action" value="(\w+)"([^>]*)>', form.group(1)
    )
    return [value for value, rest in buttons if not re.search(r"\bhidden\b", rest)]


async def test_a_run_page_offers_only_the_actions_that_apply_to_its_state(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    definition = {
        "inputs": {"nap": {"type": "number", "default": 0}},
        "steps": [
            {"id": "nap", "uses": "sleep", "with": {"seconds": "{{ inputs.nap }}"}},
            {"id": "check", "uses": "fail", "if": "{{ inputs.nap < 0 }}", "with": {}},
        ],
        "outputs": {"napped": "{{ inputs.nap }}"},
    }
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    failed = await start_run(api, process["id"], inputs={"nap": -1})
    failed = await wait_for_state(api, failed["id"])
    going = await start_run(api, process["id"], inputs={"nap": 60})
    await wait_for_state(api, going["id"], "Running")
    assert (done["state"], failed["state"]) == ("Succeeded", "Failed")
    csrf = await log_in(ui_http, api_key)

    async def offered(run_id: str) -> list[str]:
        page = await ui_http.get(f"/ui/runs/{run_id}")
        assert page.status_code == 200, page.text
        return _offered(page.text)

    assert await offered(done["id"]) == ["rerun", "archive", "add_test_case"]
    assert await offered(failed["id"]) == ["rerun", "archive"]
    assert await offered(going["id"]) == ["archive", "cancel"]
    await act(api, "archive", [done["id"]])
    assert await offered(done["id"]) == ["rerun", "unarchive", "add_test_case"]

    # A form sent anyway (a page left open, a script) is still refused by the server.
    late = await ui_http.post(
        "/ui/runs/actions", data={"csrf_token": csrf, "action": "cancel", "run_id": done["id"]}
    )
    assert late.status_code == 200 and "Cancel: 0 of 1 run done" in late.text
    cancelled = await ui_http.post(
        "/ui/runs/actions", data={"csrf_token": csrf, "action": "cancel", "run_id": going["id"]}
    )
    assert "Cancel: 1 of 1 run done" in cancelled.text
    await wait_for_state(api, going["id"], "Cancelled")
    assert await offered(going["id"]) == ["rerun", "archive"]


async def test_a_run_page_links_each_steps_output(
    ui_http: httpx.AsyncClient,
    api: httpx.AsyncClient,
    api_key: str,
    client: Client,
    settings: Settings,
    database: Database,
) -> None:
    definition = {
        "steps": [
            {"id": "total", "uses": "set", "with": {"who": "<b>ann</b>", "n": 3}},
            {"id": "never", "if": "{{ false }}", "uses": "set", "with": {}},
            {"id": "boom", "uses": "fail", "with": {"message": "no"}},
            {"id": "after", "uses": "set", "with": {}},
        ]
    }
    process = await create_process(api, definition)
    run = await start_run(api, process["id"])
    await log_in(ui_http, api_key)
    pending = await ui_http.get(f"/ui/runs/{run['id']}")
    assert "step-outputs" not in pending.text  # nothing has run: no worker yet

    async with worker_for(client, settings, database):
        await wait_for_state(api, run["id"])
        page = await ui_http.get(f"/ui/runs/{run['id']}")
        assert f'href="/ui/runs/{run["id"]}/step-outputs"' in page.text
        outputs = await ui_http.get(f"/ui/runs/{run['id']}/step-outputs")
    assert outputs.status_code == 200, outputs.text
    shown = re.findall(r'aria-label="Output of (\w+)">(.*?)</pre>', outputs.text, re.S)
    assert [step for step, _ in shown] == ["total"]
    assert "<b>" not in shown[0][1]  # escaped
    assert json.loads(html.unescape(shown[0][1])) == {"who": "<b>ann</b>", "n": 3}
    for text in ("the step was skipped", "the step failed", "the step did not run"):
        assert text in outputs.text, text

    stopped = await ui_http.get(f"/ui/runs/{run['id']}/step-outputs")  # no worker to ask
    assert stopped.status_code == 503
    assert "no worker answered" in stopped.text and "Output of" not in stopped.text


async def test_a_run_whose_stage_moved_on_offers_a_re_run_on_it(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    definition = {
        "inputs": {"n": {"type": "number", "required": True}},
        "steps": [{"id": "bug", "uses": "fail", "if": "{{ inputs.n > 5 }}",
                   "with": {"message": "too big"}}],
        "outputs": {"n": "{{ inputs.n }}"},
    }  # fmt: skip
    process = await create_process(api, definition, publish=True)
    run = await start_run(api, process["id"], "Published", inputs={"n": 7})
    failed = await wait_for_state(api, run["id"])
    assert failed["state"] == "Failed"
    csrf = await log_in(ui_http, api_key)
    page = await ui_http.get(f"/ui/runs/{run['id']}")
    assert "Re-run on Published" not in page.text  # r1 is still what Published runs

    fixed = {**definition, "steps": []}
    assert await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": fixed})
    assert (await api.post(f"/v2/processes/{process['id']}/publish")).status_code == 200
    page = await ui_http.get(f"/ui/runs/{run['id']}")
    assert re.search(r'<button type="submit" name="rerun_stage" value="Published"[^>]*>'
                     r"Re-run on Published r2</button>", page.text)  # fmt: skip

    done = await ui_http.post(
        "/ui/runs/actions",
        data={"csrf_token": csrf, "rerun_stage": "Published", "run_id": run["id"],
              "return_to": f"/ui/runs/{run['id']}"},
    )  # fmt: skip
    assert done.status_code == 200, done.text
    assert "Re-run on Published: 1 of 1 run done." in done.text
    new_id = re.search(r'new run <a href="/ui/runs/([^"]+)">[^<]+</a> on Published r2', done.text)
    assert new_id and new_id.group(1) != run["id"], done.text
    rerun = await wait_for_state(api, new_id.group(1))
    assert (rerun["state"], rerun["revision"], rerun["rerun_of"]) == ("Succeeded", 2, run["id"])
