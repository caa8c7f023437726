"""The default run list when most runs are archived: exactly the unarchived runs, in order,
with a bounded number of visibility queries per page (small windows force many of them)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from openruns.services import run_windows
from openruns.store import Database
from openruns.store.archives import rows_for
from tests.helpers import assert_eventually
from tests.helpers.actions import act, list_ids
from tests.helpers.api import create_process, start_run

NAP = {
    "inputs": {"nap": {"type": "number", "default": 0}},
    "steps": [{"id": "nap", "uses": "sleep", "if": "{{ inputs.nap > 0 }}",
               "with": {"seconds": "{{ inputs.nap }}"}}],
    "outputs": {"napped": "{{ inputs.nap }}"},
}  # fmt: skip
RUNS = 120


def _count_queries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Visibility queries per request: the caller appends a 0 before each request."""
    queries: list[int] = []
    page = run_windows.Windows.page

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        queries[-1] += 1
        return await page(self, *args, **kwargs)

    monkeypatch.setattr(run_windows.Windows, "page", counted)
    return queries


async def _start_many(api: httpx.AsyncClient, process_id: str, count: int) -> None:
    gate = asyncio.Semaphore(16)

    async def one() -> None:
        async with gate:
            await start_run(api, process_id)

    await asyncio.gather(*(one() for _ in range(count)))


async def test_default_list_with_most_runs_archived(
    api: httpx.AsyncClient,
    worker: object,
    client: Client,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    process = await create_process(api, NAP)
    pid = process["id"]
    await _start_many(api, pid, RUNS)
    await assert_eventually(
        lambda: client.count_workflows(f"ProcessId = '{pid}' AND ExecutionStatus = 'Completed'"),
        lambda count: count.count == RUNS,
        timeout=60,
    )
    closed = await list_ids(api, process_id=pid, archived="all", limit=100)  # newest close first
    assert len(closed) == RUNS
    kept = [closed[i] for i in (0, 1, 40, 41, 80, RUNS - 1)]  # 5 % stay visible
    awake = await start_run(api, pid, inputs={"nap": 60})
    sleeper = await start_run(api, pid, inputs={"nap": 60})
    short = await start_run(api, pid, inputs={"nap": 1})
    to_archive = [i for i in closed if i not in kept] + [sleeper["id"], short["id"]]
    results = await act(api, "archive", to_archive)
    assert all(r["ok"] for r in results)

    # Small windows and few queries per page, so paging must cross many windows.
    monkeypatch.setattr(run_windows, "WINDOW", 7)
    monkeypatch.setattr(run_windows, "MAX_QUERIES", 3)
    queries = _count_queries(monkeypatch)

    async def default_list(limit: int, **params: Any) -> list[str]:
        ids: list[str] = []
        token: str | None = None
        first = len(queries)
        for _ in range(200):
            queries.append(0)
            extra: dict[str, str] = {"continuation_token": token} if token else {}
            response = await api.get(
                "/v2/runs", params={"process_id": pid, "limit": limit, **params, **extra}
            )
            assert response.status_code == 200, response.text
            # unfinished runs + windows + recording closes of runs archived while running
            assert queries[-1] <= 2 + run_windows.MAX_QUERIES, "a page stays bounded"
            body = response.json()
            assert all(not run["archived"] for run in body["items"])
            ids += [run["id"] for run in body["items"]]
            token = body["continuation_token"]
            if token is None:
                # Each query skips a whole window of archived runs, so the pages needed are
                # about (windows / queries per page) + (runs / limit); skipping archived runs
                # a page at a time would need several times more.
                windows = math.ceil(len(to_archive) / run_windows.WINDOW)
                bound = math.ceil(windows / run_windows.MAX_QUERIES) + math.ceil(len(ids) / limit)
                assert len(queries) - first <= bound + 2, (len(queries) - first, bound)
                return ids
        raise AssertionError("the list did not end")

    # The short run ends while archived; a list then records its close in the database.
    await assert_eventually(
        lambda: client.count_workflows(f"ProcessId = '{pid}' AND ExecutionStatus = 'Completed'"),
        lambda count: count.count == RUNS + 1,
    )
    for limit in (2, 5, 100):
        assert await default_list(limit) == [awake["id"], *kept]
    async with database.session() as session:
        row = (await rows_for(session, [short["id"]]))[short["id"]]
    assert row.state == "Succeeded" and row.closed_at is not None

    assert await default_list(3, state="Succeeded") == kept
    assert await default_list(3, state="Running") == [awake["id"]]
    everything = await list_ids(api, process_id=pid, archived="all", limit=100)
    assert len(everything) == RUNS + 3
    # Archived runs in the same order: the sleeping one first, then newest close first.
    archived = await list_ids(api, process_id=pid, archived="true", limit=17)
    assert archived == [run_id for run_id in everything if run_id in set(to_archive)]
    assert await list_ids(api, process_id=pid, archived="true", state="Running") == [sleeper["id"]]

    back = to_archive[:3]
    assert all(r["ok"] for r in await act(api, "unarchive", back))
    listed = await default_list(4)
    assert sorted(listed) == sorted([awake["id"], *kept, *back])
    assert listed[0] == awake["id"]

    await act(api, "cancel", [awake["id"], sleeper["id"]])


async def test_archived_list_behind_many_unfinished_archived_runs(
    api: httpx.AsyncClient,
    worker: object,
    client: Client,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``archived=true`` lists runs that were archived while running and have closed since,
    however many archived runs newer than them are still running. Their close (which orders
    them) used to be looked up only for the ``WINDOW`` most recently archived such runs, the
    same unfinished ones on every call, so the older ones never showed. The list now walks
    every run whose close it does not know, a window per query, and records the closes it
    meets on the way; a page still costs at most ``MAX_QUERIES`` queries."""
    monkeypatch.setattr(run_windows, "WINDOW", 4)
    monkeypatch.setattr(run_windows, "MAX_QUERIES", 2)
    pid = (await create_process(api, NAP))["id"]
    # Two triggers, so that each of the two lists below meets runs whose close is unknown.
    shorts = {
        trigger: [await start_run(api, pid, inputs={"nap": 3}, trigger=trigger) for _ in range(3)]
        for trigger in ("manual", "api")
    }
    short_ids = [run["id"] for runs in shorts.values() for run in runs]
    assert all(
        r["ok"] and r["run"]["state"] != "Succeeded" for r in await act(api, "archive", short_ids)
    )
    longs = {
        trigger: [await start_run(api, pid, inputs={"nap": 600}, trigger=trigger) for _ in range(6)]
        for trigger in ("manual", "api")
    }
    long_ids = [run["id"] for runs in longs.values() for run in runs]
    assert all(r["ok"] for r in await act(api, "archive", long_ids))
    await assert_eventually(
        lambda: client.count_workflows(f"ProcessId = '{pid}' AND ExecutionStatus = 'Completed'"),
        lambda count: count.count == len(short_ids),
        timeout=30,
    )
    async with database.session() as session:
        rows = await rows_for(session, short_ids)
    assert all(row.closed_at is None for row in rows.values()), "archived while running"

    queries = _count_queries(monkeypatch)

    async def archived_list(**params: Any) -> list[str]:
        ids: list[str] = []
        token: str | None = None
        for _ in range(100):
            queries.append(0)
            extra: dict[str, str] = {"continuation_token": token} if token else {}
            response = await api.get(
                "/v2/runs", params={"archived": "true", "limit": 3, **params, **extra}
            )
            assert response.status_code == 200, response.text
            assert queries[-1] <= run_windows.MAX_QUERIES, "a page stays bounded"
            body = response.json()
            assert all(run["archived"] for run in body["items"])
            ids += [run["id"] for run in body["items"]]
            token = body["continuation_token"]
            if token is None:
                return ids
        raise AssertionError("the list did not end")

    def ids_of(runs: list[dict[str, Any]]) -> list[str]:
        return [run["id"] for run in runs]

    # archived=all is the plain visibility listing: newest close first.
    closed_order = await list_ids(api, process_id=pid, archived="all", state="Succeeded")
    manual = await archived_list(trigger="manual")
    assert sorted(manual[:6]) == sorted(ids_of(longs["manual"]))  # unfinished first
    assert manual[6:] == [i for i in closed_order if i in ids_of(shorts["manual"])]
    succeeded = await archived_list(trigger="api", state="Succeeded")
    assert succeeded == [i for i in closed_order if i in ids_of(shorts["api"])]
    assert await archived_list(process_id=pid, state="Succeeded") == closed_order
    everything = await archived_list(process_id=pid)
    assert sorted(everything[:12]) == sorted(long_ids) and everything[12:] == closed_order

    await act(api, "cancel", long_ids)
