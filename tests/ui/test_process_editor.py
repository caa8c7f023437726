"""Writing processes in the web UI: New process and Edit draft, through the same checks as the
API, with what was refused shown by path and the text kept (over HTTP, real store, real worker
for the run that proves a created process works)."""

from __future__ import annotations

import html
import json
import re

import httpx
import yaml

from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.ui import log_in

GREET = """\
inputs:
  who: {type: string, required: true}
steps:
  - id: greet
    uses: set
    with: {text: "Hello {{ inputs.who }}"}
outputs:
  greeting: "{{ steps.greet.text }}"
"""


def _textarea(page: str) -> str:
    found = re.search(r'<textarea id="process-definition"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "no definition field"
    return html.unescape(found.group(1))


def _marked_invalid(page: str) -> list[str]:
    fields = re.findall(r'<div class="field( invalid)?">\s*<label for="process-(\w+)"', page)
    return [name for invalid, name in fields if invalid]


def _problems(page: str) -> list[str]:
    listed = re.findall(r"<li><code>([^<]*)</code>: ([^<]*)</li>", page)
    return [f"{path}: {html.unescape(message)}" for path, message in listed]


async def test_a_process_created_in_the_ui_runs(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    csrf = await log_in(ui_http, api_key)
    home = await ui_http.get("/ui")
    assert 'href="/ui/processes/new"' in home.text
    form = await ui_http.get("/ui/processes/new")
    assert form.status_code == 200
    assert yaml.safe_load(_textarea(form.text))["steps"][0]["uses"] == "set"  # a starter

    created = await ui_http.post(
        "/ui/processes/new",
        data={
            "csrf_token": csrf,
            "name": "ui greeter",
            "description": "says hi",
            "definition": GREET,
        },
    )
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    process_id = re.fullmatch(r"/ui/processes/([^/?]+)\?created=1", location)
    assert process_id, location
    shown = await ui_http.get(location)
    assert "Process created with draft revision 1" in shown.text

    process = (await api.get(f"/v2/processes/{process_id.group(1)}")).json()
    assert (process["name"], process["description"]) == ("ui greeter", "says hi")
    run = await start_run(api, process["id"], inputs={"who": "ada"})
    done = await wait_for_state(api, run["id"])
    assert (done["state"], done["outputs"]) == ("Succeeded", {"greeting": "Hello ada"})


async def test_a_refused_new_process_keeps_what_was_typed(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str
) -> None:
    csrf = await log_in(ui_http, api_key)
    bad = GREET.replace("uses: set", "uses: sett")
    refused = await ui_http.post(
        "/ui/processes/new", data={"csrf_token": csrf, "name": "typo", "definition": bad}
    )
    assert refused.status_code == 422
    assert _textarea(refused.text) == bad
    assert 'value="typo"' in refused.text
    assert _marked_invalid(refused.text) == ["definition"]
    [problem] = _problems(refused.text)
    assert problem.startswith("definition.steps[0].uses: unknown step type 'sett'"), problem

    no_name = await ui_http.post(
        "/ui/processes/new", data={"csrf_token": csrf, "name": " ", "definition": GREET}
    )
    assert no_name.status_code == 422
    assert _problems(no_name.text) == ["name: String should have at least 1 character"]
    assert _marked_invalid(no_name.text) == ["name"]

    await create_process(api, {"steps": []}, name="taken")
    taken = await ui_http.post(
        "/ui/processes/new", data={"csrf_token": csrf, "name": "taken", "definition": GREET}
    )
    assert taken.status_code == 409
    assert "a process named &#39;taken&#39; already exists" in taken.text
    assert _textarea(taken.text) == GREET

    forged = await ui_http.post(
        "/ui/processes/new", data={"csrf_token": "forged", "name": "x", "definition": GREET}
    )
    assert forged.status_code == 403
    listed = (await api.get("/v2/processes", params={"limit": 100})).json()["items"]
    assert [p["name"] for p in listed] == ["taken"]  # nothing refused was created


async def test_editing_the_draft_makes_a_new_revision(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str
) -> None:
    process = await create_process(api, yaml.safe_load(GREET), publish=True)
    csrf = await log_in(ui_http, api_key)
    page = await ui_http.get(f"/ui/processes/{process['id']}")
    assert f'href="/ui/processes/{process["id"]}/edit"' in page.text

    form = await ui_http.get(f"/ui/processes/{process['id']}/edit")
    assert form.status_code == 200
    assert yaml.safe_load(_textarea(form.text)) == process["definition"]
    assert 'name="base_revision" value="1"' in form.text

    changed = GREET.replace("Hello", "Hi")
    saved = await ui_http.post(
        f"/ui/processes/{process['id']}/edit",
        data={"csrf_token": csrf, "base_revision": "1", "definition": changed},
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/ui/processes/{process['id']}?saved=2"
    notice = await ui_http.get(saved.headers["location"])
    assert "Saved draft revision 2. Published runs use revision 1 until you publish." in notice.text
    after = (await api.get(f"/v2/processes/{process['id']}")).json()
    assert (after["draft_revision"], after["published_revision"]) == (2, 1)
    assert after["definition"]["steps"][0]["with"]["text"] == "Hi {{ inputs.who }}"

    # Someone else's save came first: a 409, the text kept, nothing overwritten.
    stale = await ui_http.post(
        f"/ui/processes/{process['id']}/edit",
        data={"csrf_token": csrf, "base_revision": "1", "definition": GREET},
    )
    assert stale.status_code == 409
    assert "the draft is at revision 2, not 1" in stale.text
    assert _textarea(stale.text) == GREET

    broken = changed.replace("{{ steps.greet.text }}", "{{ steps.nope.text }}")
    refused = await ui_http.post(
        f"/ui/processes/{process['id']}/edit",
        data={"csrf_token": csrf, "base_revision": "2", "definition": broken},
    )
    assert refused.status_code == 422
    assert any(p.startswith("definition.outputs.greeting") for p in _problems(refused.text))
    assert _textarea(refused.text) == broken
    final = (await api.get(f"/v2/processes/{process['id']}")).json()
    assert final["draft_revision"] == 2


async def test_a_save_must_say_which_revision_it_edits(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str
) -> None:
    process = await create_process(api, yaml.safe_load(GREET))
    csrf = await log_in(ui_http, api_key)
    for base in ("²", "abc", "-1", "1.0", None):  # "²".isdigit() is True; int("²") fails
        data = {"csrf_token": csrf, "definition": GREET.replace("Hello", "Hey")}
        if base is not None:
            data["base_revision"] = base
        refused = await ui_http.post(f"/ui/processes/{process['id']}/edit", data=data)
        assert refused.status_code == 422, (base, refused.text[:200])
        assert "did not say which revision it edits" in refused.text
        assert 'name="base_revision" value=""' in refused.text  # re-sent, it is refused again
        assert _textarea(refused.text) == data["definition"]
    after = (await api.get(f"/v2/processes/{process['id']}")).json()
    assert after["draft_revision"] == 1


async def test_the_editor_marks_what_is_wrong_for_assistive_technology(
    ui_http: httpx.AsyncClient, api_key: str
) -> None:
    csrf = await log_in(ui_http, api_key)
    refused = await ui_http.post(
        "/ui/processes/new", data={"csrf_token": csrf, "name": "x", "definition": "steps: 3"}
    )
    assert refused.status_code == 422
    textarea = re.search(r'<textarea id="process-definition"[^>]*>', refused.text)
    assert textarea and 'aria-invalid="true"' in textarea.group(0)
    assert 'aria-describedby="editor-problems"' in textarea.group(0)
    assert '<ul class="problems" id="editor-problems">' in refused.text
    name = re.search(r'<input id="process-name"[^>]*>', refused.text)
    assert name and "aria-invalid" not in name.group(0)


async def test_a_draft_that_yaml_cannot_write_back_is_edited_as_json(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str
) -> None:
    definition = {"steps": [{"id": "s", "uses": "set", "with": {"t": "a\x85b"}}]}
    process = await create_process(api, definition)
    await log_in(ui_http, api_key)
    form = await ui_http.get(f"/ui/processes/{process['id']}/edit")
    shown = _textarea(form.text)
    assert json.loads(shown)["steps"][0]["with"]["t"] == "a\x85b"  # not "a b"
    assert yaml.safe_load(shown) == process["definition"]
