"""Pages over HTTP: the Run form generated from the declared inputs, starting runs from it,
the run page, and errors shown as pages."""

from __future__ import annotations

import re
from html import unescape

import httpx

from tests.helpers.api import create_process, wait_for_state
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
