"""Run lists decode visibility records themselves (``services.visibility``): each record must
read exactly as the SDK's own ``list_workflows`` reads it, for runs carrying every kind of
attribute a run record shows (real dev server and worker)."""

from __future__ import annotations

import dataclasses

import httpx
from temporalio.client import Client

from openruns import search_attributes as attrs
from openruns.services import visibility
from openruns.services.run_query import RunFilters, build_query
from openruns.services.run_records import run_summary
from openruns.settings import Settings
from tests.helpers import assert_eventually
from tests.helpers.actions import act
from tests.helpers.api import create_process, start_run, wait_for_state

SLEEPY = {"steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 30}}]}
QUICK = {"inputs": {"who": {"type": "string"}}, "outputs": {"hello": "{{ inputs.who }}"}}


async def test_a_listed_record_reads_as_the_sdk_reads_it(
    api: httpx.AsyncClient, client: Client, settings: Settings, worker: object
) -> None:
    quick = await create_process(api, QUICK)
    sleepy = await create_process(api, SLEEPY)
    done = await wait_for_state(
        api, (await start_run(api, quick["id"], inputs={"who": "ada lovelace"}))["id"]
    )
    [rerun] = await act(api, "rerun", [done["id"]])  # RerunOf
    running = await start_run(api, sleepy["id"])  # RunState Running, RunStartedAt
    await wait_for_state(api, running["id"], "Running")
    [archived] = await act(api, "archive", [running["id"]])  # RunArchived, by a signal
    assert archived["ok"] and rerun["ok"]
    ids = [done["id"], rerun["run"]["id"], running["id"]]
    query = f"{build_query(RunFilters())} AND WorkflowId IN ({', '.join(repr(i) for i in ids)})"
    archived_query = f"{query} AND RunArchived = true"
    await assert_eventually(lambda: client.count_workflows(archived_query), lambda c: c.count > 0)
    await wait_for_state(api, rerun["run"]["id"])

    ours, token = await visibility.page(client, query, 10)
    sdk = [execution async for execution in client.list_workflows(query)]
    assert token is None and visibility._lean  # the lean way, not the fallback
    assert sorted(e.id for e in ours) == sorted(ids) == sorted(e.id for e in sdk)
    by_id = {e.id: e for e in sdk}
    for execution in ours:
        theirs = by_id[execution.id]
        for field in dataclasses.fields(execution):
            if field.name not in ("search_attributes", "typed_search_attributes"):
                assert getattr(execution, field.name) == getattr(theirs, field.name), field.name
        wanted = [p for p in theirs.typed_search_attributes if p.key.name != "BuildIds"]
        assert {p.key: p.value for p in execution.typed_search_attributes} == {
            p.key: p.value for p in wanted if p.key != attrs.RUN_SEARCH
        }
        assert run_summary(execution, settings, client) == run_summary(theirs, settings, client)
        assert visibility.list_memo(execution, client.data_converter) == {
            key: value for key, value in (await theirs.memo()).items() if key != "steps"
        }
    records = {e.id: e.typed_search_attributes for e in ours}
    assert records[rerun["run"]["id"]].get(attrs.RERUN_OF) == done["id"]
    assert records[running["id"]].get(attrs.RUN_ARCHIVED) is True
    assert records[running["id"]].get(attrs.RUN_STARTED_AT) is not None
    await client.get_workflow_handle(running["id"]).terminate("test over")
