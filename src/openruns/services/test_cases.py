"""Test cases: turn a Succeeded run into a baseline; list and delete them."""

from __future__ import annotations

from temporalio.client import Client

from openruns.errors import Conflict, InvalidInput, error_detail
from openruns.models import Page, Run
from openruns.pagination import decode_keyset, encode_keyset
from openruns.services import run_read
from openruns.settings import Settings
from openruns.states import RunState
from openruns.store import Database
from openruns.store import processes as process_repo
from openruns.store import test_cases as repo
from openruns.store.tables import TestCaseRow
from openruns.suite import TestCase


def to_model(row: TestCaseRow) -> TestCase:
    return TestCase(
        id=row.id,
        process_id=row.process_id,
        source_run_id=row.source_run_id,
        name=row.name,
        inputs=row.inputs,
        file_ids=row.file_ids,
        expected_outputs=row.expected_outputs,
        compare=row.compare,
        created_at=row.created_at,
    )


async def add_test_case(
    client: Client,
    database: Database,
    settings: Settings,
    run_id: str,
    compare: list[str] | None = None,
    created_by: str | None = None,
) -> tuple[Run, TestCase]:
    """The test case of a Succeeded run: its inputs, files and outputs become the baseline."""
    run = await run_read.get_run(client, settings, run_id)
    if run.state != RunState.SUCCEEDED:
        raise Conflict(f"run is {run.state}; only Succeeded runs can become test cases")
    outputs = run.outputs if isinstance(run.outputs, dict) else {}
    missing = [key for key in compare or [] if key not in outputs]
    if missing:
        raise InvalidInput(
            f"compare key {missing[0]!r} is not an output of run {run_id!r}",
            [error_detail(("compare",), f"outputs are {sorted(outputs)}")],
        )
    assert run.process_id is not None
    async with database.session() as session:
        await process_repo.get_process(session, run.process_id)
        row = await repo.add(
            session,
            process_id=run.process_id,
            source_run_id=run.id,
            name=run.name,
            inputs=run.inputs or {},
            file_ids=run.file_ids,
            expected_outputs=outputs,
            compare=list(dict.fromkeys(compare)) if compare is not None else None,
            created_by=created_by,
        )
        return run, to_model(row)


async def list_page(
    database: Database, process_id: str, limit: int, token: str | None
) -> Page[TestCase]:
    after = decode_keyset(token) if token else None
    async with database.session() as session:
        await process_repo.get_process(session, process_id)
        rows = await repo.page(session, process_id, after, limit + 1)
    items = [to_model(row) for row in rows[:limit]]
    next_token = None
    if len(rows) > limit:
        last = items[-1]
        next_token = encode_keyset(last.created_at, last.id)
    return Page[TestCase](items=items, continuation_token=next_token)


async def get(database: Database, test_case_id: str) -> TestCase:
    async with database.session() as session:
        return to_model(await repo.get(session, test_case_id))


async def delete(database: Database, test_case_id: str) -> None:
    async with database.session() as session:
        await repo.remove(session, test_case_id)
