"""Archive and unarchive runs: a flag in the metadata store, never a change to the run.

Temporal cannot change the search attributes of a closed workflow, so the flag lives in the
database (who archived it, when). A run that is still running is also signalled, and upserts
the ``RunArchived`` search attribute itself, so that lists of unfinished runs can leave it
out in the visibility query (see ``services.run_list``). The signal only tags the run: it
never pauses, stops or changes what it does.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from openruns import search_attributes as attrs
from openruns.models import Run
from openruns.run_actions import ARCHIVE_SIGNAL, ArchiveSignal, RunActionResult
from openruns.services import visibility
from openruns.services.run_records import WORKFLOW_TYPE, run_summary
from openruns.settings import Settings
from openruns.states import run_state
from openruns.store import Database
from openruns.store import archives as repo
from openruns.store.tables import RunArchiveRow

log = logging.getLogger(__name__)

SAFE_ID = re.compile(r"^[A-Za-z0-9_.:@+\-]{1,200}$")
CHUNK = 500
PARALLEL = 16


def quoted(ids: Sequence[str]) -> str:
    """``'a', 'b'`` for a visibility ``IN`` list (ids must match ``SAFE_ID``)."""
    return ", ".join(f"'{run_id}'" for run_id in ids)


async def lookup(client: Client, run_ids: Sequence[str]) -> dict[str, WorkflowExecution]:
    """The OpenRuns runs among ``run_ids``: one visibility query per 500 ids, and a describe for
    ids visibility does not show (yet), so a run started a moment ago is found too."""
    found: dict[str, WorkflowExecution] = {}
    safe = [run_id for run_id in run_ids if SAFE_ID.match(run_id)]
    for start in range(0, len(safe), CHUNK):
        chunk = safe[start : start + CHUNK]
        query = f"WorkflowType = '{WORKFLOW_TYPE}' AND WorkflowId IN ({quoted(chunk)})"
        for execution in (await visibility.page(client, query, len(chunk)))[0]:
            found.setdefault(execution.id, execution)
    gate = asyncio.Semaphore(PARALLEL)

    async def describe(run_id: str) -> None:
        async with gate:
            try:
                description = await client.get_workflow_handle(run_id).describe()
            except RPCError as exc:
                if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                    return
                raise
        if description.workflow_type == WORKFLOW_TYPE:
            found[run_id] = description

    await asyncio.gather(*(describe(i) for i in run_ids if i not in found))
    return found


def _target(execution: WorkflowExecution) -> repo.ArchiveTarget:
    sa = execution.typed_search_attributes
    state = run_state(execution.status, sa.get(attrs.RUN_STATE))
    return repo.ArchiveTarget(
        run_id=execution.id,
        process_id=sa.get(attrs.PROCESS_ID),
        stage=sa.get(attrs.PROCESS_STAGE),
        trigger=sa.get(attrs.RUN_TRIGGER),
        state=state.value if state.is_final else None,
        closed_at=execution.close_time if state.is_final else None,
    )


async def _signal(client: Client, row: RunArchiveRow) -> None:
    """Tell a running run its flag; a run that has closed meanwhile needs no tag."""
    try:
        await client.get_workflow_handle(row.run_id).signal(
            ARCHIVE_SIGNAL, ArchiveSignal(archived=row.archived, version=row.version)
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:  # the database stays the record; lists
            log.warning("could not tag run %s as archived: %s", row.run_id, exc)  # re-check it


def with_flags(run: Run, row: RunArchiveRow | Row[Any] | None) -> Run:
    run.archived = bool(row and row.archived)
    run.archived_at = row.archived_at if row and row.archived else None
    return run


async def set_archived(
    client: Client,
    database: Database,
    settings: Settings,
    run_ids: Sequence[str],
    archived: bool,
    who: tuple[str, str] | None = None,
) -> list[RunActionResult]:
    """Archive (or unarchive) each run; unknown ids get a per-run error."""
    found = await lookup(client, run_ids)
    targets = [_target(found[i]) for i in run_ids if i in found]
    async with database.session() as session:
        rows = {r.run_id: r for r in await repo.set_archived(session, targets, archived, who)}
    running = [
        rows[t.run_id]
        for t in targets
        if t.run_id in rows and found[t.run_id].status == WorkflowExecutionStatus.RUNNING
    ]
    gate = asyncio.Semaphore(PARALLEL)

    async def signal(row: RunArchiveRow) -> None:
        async with gate:
            await _signal(client, row)

    await asyncio.gather(*(signal(row) for row in running))
    results = []
    for run_id in run_ids:
        if run_id not in found:
            results.append(
                RunActionResult(
                    run_id=run_id, ok=False, status=404, error=f"run {run_id!r} not found"
                )
            )
            continue
        run = with_flags(run_summary(found[run_id], settings, client), rows.get(run_id))
        results.append(RunActionResult(run_id=run_id, ok=True, run=run))
    return results
