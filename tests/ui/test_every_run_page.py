"""``/ui/runs`` over HTTP: the runs of every process in one table (what failed last night),
with a Process column that still shows the runs of a deleted process, the filters, paging and
actions of View Runs, and one visibility query and one process-name query a page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from openruns.services import visibility
from tests.helpers import assert_eventually
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.ui import log_in
from tests.ui.definitions import doubler


def _shown(html: str) -> list[str]:
    return re.findall(r'name="run_id" value="([^"]+)"', html)


def _cell(html: str, run_id: str, label: str) -> str:
    row = re.search(rf'<tr data-run-id="{run_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {run_id}"
    cell = re.search(rf'<td data-label="{label}">(.*?)</td>', row.group(1), re.S)
    assert cell, f"no {label} cell for {run_id}"
    return cell.group(1)


@pytest.fixture
def process_queries() -> Iterator[list[str]]:
    """The SQL statements that read the processes table, from every engine of this test."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if re.search(r"\bFROM processes\b", statement):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def test_runs_of_every_process_with_their_process_and_the_view_runs_tools(
    ui_http: httpx.AsyncClient,
    api: httpx.AsyncClient,
    api_key: str,
    worker: object,
    monkeypatch: pytest.MonkeyPatch,
    process_queries: list[str],
) -> None:
    tag = f"nightly{uuid.uuid4().hex[:8]}"  # the session's Temporal holds other tests' runs
    kept = await create_process(api, doubler(), name=f"kept {tag}")
    gone = await create_process(api, doubler(), name=f"gone {tag}")
    ok = await start_run(api, kept["id"], inputs={"n": 2}, name=f"{tag} ok")
    bad = await start_run(api, kept["id"], inputs={"n": -1}, name=f"{tag} bad")
    orphan = await start_run(api, gone["id"], inputs={"n": 3}, name=f"{tag} orphan")
    for run in (ok, bad, orphan):
        await wait_for_state(api, run["id"])
    deleted = await api.delete(f"/v2/processes/{gone['id']}")
    assert deleted.status_code == 204, deleted.text
    csrf = await log_in(ui_http, api_key)

    home = await ui_http.get("/ui")
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', home.text, re.S)
    assert nav and re.search(r'<a href="/ui/runs"[^>]*>Runs</a>', nav.group(1))

    async def listed() -> httpx.Response:
        return await ui_http.get("/ui/runs", params={"q": tag})

    page = await assert_eventually(listed, lambda r: len(_shown(r.text)) == 3, timeout=30)
    assert page.status_code == 200
    assert '<a href="/ui/runs" aria-current="page">Runs</a>' in page.text
    assert sorted(_shown(page.text)) == sorted(r["id"] for r in (ok, bad, orphan))
    assert '<th scope="col">Process</th>' in page.text
    assert _cell(page.text, ok["id"], "Process") == (
        f'<a href="/ui/processes/{kept["id"]}">kept {tag}</a>'
    )
    orphan_cell = _cell(page.text, orphan["id"], "Process")
    assert gone["id"] in orphan_cell and "(deleted)" in orphan_cell and "href" not in orphan_cell
    assert "Failed" in _cell(page.text, bad["id"], "State")
    for action in ("rerun", "archive", "unarchive", "add_test_case", "cancel"):
        assert f'name="action" value="{action}"' in page.text
    assert 'action="/ui/runs/actions"' in page.text and 'action="/ui/runs"' in page.text
    assert f'name="return_to" value="/ui/runs?q={tag}"' in page.text

    # One visibility query for the page, and the names of its processes in one more.
    calls: list[str] = []
    real_page = visibility.page

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("page")
        return await real_page(*args, **kwargs)

    monkeypatch.setattr(visibility, "page", counted)
    process_queries.clear()
    again = await listed()
    assert len(_shown(again.text)) == 3
    assert (len(calls), len(process_queries)) == (1, 1)
    calls.clear()
    rows = await ui_http.get("/ui/runs/rows", params={"q": tag})
    assert rows.text.lstrip().startswith("<tbody") and len(_shown(rows.text)) == 3
    assert 'data-live-url="/ui/runs/rows?q=' in rows.text and "(deleted)" in rows.text
    assert len(calls) == 1
    monkeypatch.undo()

    failed = await ui_http.get("/ui/runs", params={"q": tag, "state": "Failed"})
    assert _shown(failed.text) == [bad["id"]]
    assert "<option selected>Failed</option>" in failed.text

    first = await ui_http.get("/ui/runs", params={"q": tag, "limit": 2})
    next_link = re.search(r'<a href="([^"]+)">Next page</a>', first.text)
    assert next_link and len(_shown(first.text)) == 2
    second = await ui_http.get(unescape(next_link.group(1)))
    assert len(_shown(second.text)) == 1 and "First page" in second.text
    assert sorted(_shown(first.text) + _shown(second.text)) == sorted(_shown(page.text))

    archived = await ui_http.post(
        "/ui/runs/actions",
        data={"csrf_token": csrf, "action": "archive", "run_id": [orphan["id"]],
              "return_to": f"/ui/runs?q={tag}"},
    )  # fmt: skip
    assert archived.status_code == 200 and "Archive: 1 of 1 run done" in archived.text
    assert sorted(_shown((await listed()).text)) == sorted([ok["id"], bad["id"]])
    only = await ui_http.get("/ui/runs", params={"q": tag, "archived": "true"})
    assert _shown(only.text) == [orphan["id"]]

    run_page = await ui_http.get(f"/ui/runs/{orphan['id']}")  # its process is gone
    assert run_page.status_code == 200 and '<a href="/ui/runs">Runs</a> /' in run_page.text
