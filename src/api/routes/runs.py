"""Runs: start, list, read, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status

from api.deps import ApiKeyDep, DatabaseDep, SettingsDep, TemporalDep
from api.json_body import JsonRoute
from api.middleware import annotate
from api.openapi import error_response_doc
from openruns.models import Page, Run, RunCreate, StepOutputs
from openruns.pagination import DEFAULT_LIMIT, MAX_LIMIT
from openruns.run_actions import ArchivedFilter
from openruns.services import run_list, run_query, run_read, run_start, step_outputs
from openruns.states import RunState, Stage, Trigger

RunIdPath = Annotated[str, Path(pattern=run_query.SAFE_VALUE, description="A run id.")]

# The longest a request may wait for its run; a proxy in front must allow longer
# (deploy/haproxy.cfg).
MAX_WAIT_SECONDS = 60

router = APIRouter(route_class=JsonRoute, tags=["runs"])


def _any_of(description: str) -> Any:
    """A run-list filter that may be repeated (``state=Failed&state=TimedOut``), each value at
    most once (``single_query_values`` refuses a value given twice)."""
    return Query(
        description=f"{description}; repeat it for any of several.",
        json_schema_extra={"uniqueItems": True},
    )


@router.post("/runs", status_code=status.HTTP_201_CREATED)
async def start_run(
    body: RunCreate,
    response: Response,
    database: DatabaseDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    api_key: ApiKeyDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for the run to finish."),
    ] = 0,
) -> Run:
    """Start a run; the same ``Idempotency-Key`` again returns the same run.

    With ``wait`` the response comes when the run has finished (or the wait is over), like
    Temporal's ``execute_workflow``: one request to run a process and get its outputs.
    """
    # The session is opened here rather than by a dependency: this is the busiest endpoint,
    # and a generator dependency costs a cancel scope and an exit stack per request.
    async with database.sessions() as session:
        started = await run_start.start_run(
            temporal,
            session,
            settings,
            run_start.StartRequest(
                process_id=body.process_id,
                stage=body.stage,
                trigger=Trigger(body.trigger),
                inputs=body.inputs,
                name=body.name,
                file_ids=body.file_ids,
                idempotency_scope=api_key.id,
                idempotency_key=idempotency_key,
            ),
            wait=wait,
        )
    annotate(run_id=started.run.id)
    if not started.created:
        response.headers["Idempotent-Replayed"] = "true"
    return started.run


@router.get("/runs")
async def list_runs(
    temporal: TemporalDep,
    database: DatabaseDep,
    settings: SettingsDep,
    _: ApiKeyDep,
    process_id: Annotated[str | None, Query(pattern=run_query.SAFE_VALUE)] = None,
    stage: Annotated[list[Stage] | None, _any_of("Only runs of this stage")] = None,
    state: Annotated[list[RunState] | None, _any_of("Only runs in this state")] = None,
    trigger: Annotated[
        list[Trigger] | None, _any_of("Only runs with this trigger (test runs only when asked for)")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=500, description="Words that must all occur (see README).")
    ] = None,
    archived: ArchivedFilter = ArchivedFilter.FALSE,
    schedule_id: Annotated[str | None, Query(pattern=run_query.SAFE_VALUE)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    continuation_token: str | None = None,
) -> Page[Run]:
    """Runs in Temporal's visibility order: unfinished first, then the most recently ended.

    Archived runs are left out unless ``archived=true`` (only them) or ``archived=all``.
    ``state``, ``trigger`` and ``stage`` may be repeated: a run matches any of the values."""
    filters = run_query.RunFilters(
        process_id=process_id,
        stages=tuple(stage or ()),
        states=tuple(state or ()),
        triggers=tuple(trigger or ()),
        q=q,
        schedule_id=schedule_id,
    )
    return await run_list.list_runs(
        temporal, database, settings, filters, archived, limit, continuation_token
    )


@router.get("/runs/{run_id}")
async def get_run(
    run_id: RunIdPath,
    temporal: TemporalDep,
    database: DatabaseDep,
    settings: SettingsDep,
    _: ApiKeyDep,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for the run to finish."),
    ] = 0,
) -> Run:
    """One run with inputs, outputs, error and step timeline; ``wait`` long-polls for the end."""
    run = await run_read.get_run(temporal, settings, run_id, wait=wait)
    [run] = await run_list.flagged(database, [run])
    return run


@router.get(
    "/runs/{run_id}/step-outputs",
    responses={
        502: error_response_doc(
            "Temporal refused the request, or the worker could not read the outputs (it "
            "cannot replay the run, or they are too large for one answer: ask for one step)"
        ),
        503: error_response_doc(
            "Temporal or the metadata store is unavailable, or no worker answered (a worker "
            "reads the outputs from the run); retry after Retry-After"
        ),
    },
)
async def get_step_outputs(
    run_id: RunIdPath,
    temporal: TemporalDep,
    settings: SettingsDep,
    _: ApiKeyDep,
    step: Annotated[
        str | None,
        Query(max_length=128, description="Only this step's output (absent: it has none)."),
    ] = None,
) -> StepOutputs:
    """What each finished step output, read from the run by a worker (so a worker must be
    running): a skipped step's output is null; a failed, running or unreached step is absent."""
    return await step_outputs.step_outputs(temporal, settings, run_id, step)


@router.post("/runs/{run_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
async def cancel_run(
    run_id: RunIdPath, temporal: TemporalDep, settings: SettingsDep, _: ApiKeyDep
) -> Run:
    """Request cancellation; the run ends Cancelled. 409 when it has already finished."""
    return await run_read.cancel_run(temporal, settings, run_id)
