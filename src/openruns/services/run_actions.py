"""Bulk actions on selected runs: re-run, archive, unarchive, add test case, cancel.

Every action answers per run; a bad or unknown id is that run's error, never the call's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.service import RPCError

from openruns.definition.inputs import EMAIL_INPUT, resolve_inputs
from openruns.errors import Conflict, InvalidInput, OpenRunsError, error_detail
from openruns.ids import new_id, stable_id
from openruns.models import Run
from openruns.run_actions import RunAction, RunActionResult, RunActionsRequest
from openruns.services import archive, run_list, run_read, run_start, test_cases
from openruns.services.processes import load_definition, revision_for_stage
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import Database
from openruns.store import processes as process_repo
from openruns.store.tables import ApiKeyRow
from openruns.temporal import is_unavailable

PARALLEL = 16


async def rerun(
    client: Client,
    database: Database,
    settings: Settings,
    run_id: str,
    new_run_id: str,
    *,
    replay: bool = False,
    stage: Stage | None = None,
) -> Run:
    """Start ``new_run_id`` with the same process, stage, revision, inputs and files (and,
    for an email run, the same email: memo and search words, as its inputs carry it).

    ``stage``: run that stage's current revision instead, with the original's inputs (those
    it was given or defaulted; an optional one it went without takes the new default).

    A scheduled run resolved its revision when it started; one that ended before that
    (cancelled or timed out while Pending) runs the revision published now, as its schedule
    would. The runs of a deleted process are not re-run (404), whichever way they started.

    ``replay``: ``new_run_id`` may exist already (an idempotent retry); answer with it.
    """
    original, run_input = await run_read.run_with_input(client, settings, run_id)
    if not original.state.is_final:
        raise Conflict(
            f"run is {original.state}; only finished runs can be re-run (cancel it first)"
        )
    async with database.session() as session:
        await process_repo.get_process(session, run_input.process_id)  # 404 once deleted
        revision = None
        if stage is not None:
            revision = await revision_for_stage(session, run_input.process_id, stage)
            given = {k: v for k, v in run_input.inputs.items() if v is not None}
            run_input = run_input.model_copy(update={"stage": stage, "inputs": given})
        elif run_input.definition is not None:
            pass  # the run carries its definition and revision
        elif original.revision is None:
            revision = await revision_for_stage(session, run_input.process_id, Stage.PUBLISHED)
        else:
            revision = await process_repo.get_revision(
                session, run_input.process_id, original.revision
            )
    if revision is not None:
        email = EMAIL_INPUT in run_input.inputs and run_input.trigger == Trigger.EMAIL
        try:
            inputs = resolve_inputs(load_definition(revision), run_input.inputs, allow_email=email)
        except InvalidInput as exc:  # one result per run carries a message, not details
            problems = "; ".join(f"{d['path']}: {d['message']}" for d in exc.details)
            raise InvalidInput(
                f"the original's inputs do not fit revision {revision.revision}: {problems}",
                exc.details,
            ) from None
        run_input = run_input.model_copy(
            update={
                "definition": revision.definition,
                "revision": revision.revision,
                "inputs": inputs,
            }
        )
    run_input = run_input.model_copy(
        update={
            "trigger": Trigger.MANUAL,
            "rerun_of": run_id,
            "schedule_id": None,
            "parent_run_id": None,
            "test_run_id": None,
        }
    )
    created = await run_start.launch(client, settings, new_run_id, run_input)
    if not created or replay:
        return await run_read.get_run(client, settings, new_run_id)
    return run_start.pending_run(settings, new_run_id, run_input)


async def _each(
    run_ids: list[str], act: Callable[[str], Awaitable[RunActionResult]]
) -> list[RunActionResult]:
    gate = asyncio.Semaphore(PARALLEL)

    async def one(run_id: str) -> RunActionResult:
        async with gate:
            try:
                return await act(run_id)
            except OpenRunsError as exc:
                return RunActionResult(
                    run_id=run_id, ok=False, error=exc.message, status=exc.status_code
                )
            except RPCError as exc:
                if is_unavailable(exc):
                    raise
                return RunActionResult(run_id=run_id, ok=False, error=exc.message, status=502)

    return list(await asyncio.gather(*(one(run_id) for run_id in run_ids)))


async def perform(
    client: Client,
    database: Database,
    settings: Settings,
    request: RunActionsRequest,
    api_key: ApiKeyRow,
    idempotency_key: str | None = None,
) -> list[RunActionResult]:
    """Apply ``request.action`` to every run; one result per distinct run id, in order."""
    run_ids = list(dict.fromkeys(request.run_ids))
    if request.compare is not None and request.action != RunAction.ADD_TEST_CASE:
        raise InvalidInput(
            "compare applies to add_test_case only",
            [error_detail(("compare",), f"not used by {request.action}")],
        )
    if request.stage is not None and request.action != RunAction.RERUN:
        raise InvalidInput(
            "stage applies to rerun only",
            [error_detail(("stage",), f"not used by {request.action}")],
        )
    action = request.action
    if action in (RunAction.ARCHIVE, RunAction.UNARCHIVE):
        archived = action == RunAction.ARCHIVE
        who = (api_key.id, api_key.name)
        return await archive.set_archived(client, database, settings, run_ids, archived, who)

    async def act(run_id: str) -> RunActionResult:
        if action == RunAction.RERUN:
            # With an Idempotency-Key, the same key re-runs a run into the same new run id.
            variant = (request.stage,) if request.stage else ()  # the same ids as before
            new_run_id = (
                stable_id("run", api_key.id, idempotency_key, run_id, *variant)
                if idempotency_key
                else new_id("run")
            )
            run = await rerun(
                client,
                database,
                settings,
                run_id,
                new_run_id,
                replay=bool(idempotency_key),
                stage=request.stage,
            )
            return RunActionResult(run_id=run_id, ok=True, run=run)
        if action == RunAction.ADD_TEST_CASE:
            run, case = await test_cases.add_test_case(
                client, database, settings, run_id, request.compare, api_key.id
            )
            return RunActionResult(run_id=run_id, ok=True, run=run, test_case=case)
        run = await run_read.cancel_run(client, settings, run_id)
        return RunActionResult(run_id=run_id, ok=True, run=run)

    results = await _each(run_ids, act)
    flagged = await run_list.flagged(database, [r.run for r in results if r.run])
    by_id = {run.id: run for run in flagged}
    for result in results:
        if result.run is not None:
            result.run = by_id.get(result.run.id, result.run)
    return results
