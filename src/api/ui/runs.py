"""Run pages: View Runs of one process or of every process (filters, checkboxes, live rows,
pagination), the bulk actions bar, one run (live state and timeline), and file downloads for
the session."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from temporalio.client import Client

from api.deps import DatabaseDep, SessionDep, SettingsDep, TemporalDep
from api.errors import RETRY_AFTER_SECONDS
from api.routes.files import file_download
from api.ui.auth import CsrfSessionDep, UiSession, UiSessionDep, safe_next
from api.ui.render import FINAL_STATES, page
from openruns.errors import InvalidInput, NotFound, Unavailable, WorkerFailed, error_detail
from openruns.models import Page, Process, Run
from openruns.pagination import MAX_LIMIT
from openruns.run_actions import MAX_ACTION_RUNS, ArchivedFilter, RunAction, RunActionsRequest
from openruns.services import (
    files,
    processes,
    run_actions,
    run_list,
    run_query,
    run_read,
    step_outputs,
)
from openruns.settings import Settings
from openruns.states import RunState, Stage, Trigger
from openruns.store import Database
from openruns.store import processes as process_repo

router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE_SIZE = 25
ACTION_LABELS = {
    RunAction.RERUN: "Re-run",
    RunAction.ARCHIVE: "Archive",
    RunAction.UNARCHIVE: "Unarchive",
    RunAction.ADD_TEST_CASE: "Add Test Case",
    RunAction.CANCEL: "Cancel",
}
# The states a run's page offers an action in (as the services check: a re-run of a finished
# run, a test case of a Succeeded one, cancelling an unfinished one); archiving goes by flag.
ACTION_STATES = {
    RunAction.RERUN.value: [s.value for s in RunState if s.is_final],
    RunAction.ADD_TEST_CASE.value: [RunState.SUCCEEDED.value],
    RunAction.CANCEL.value: [s.value for s in RunState if not s.is_final],
}
E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], name: str, raw: str | None) -> E | None:
    """An optional filter from a form select: empty means any; 422 naming it otherwise."""
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(kind)
        raise InvalidInput(
            f"invalid {name}", [error_detail((name,), f"one of {allowed}")]
        ) from None


class RunQuery:
    """The View Runs filters and page, as the query string carries them."""

    def __init__(
        self,
        state: str | None = None,
        trigger: str | None = None,
        stage: str | None = None,
        archived: str = "false",
        q: Annotated[str | None, Query(max_length=500)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
        continuation_token: str | None = None,
    ) -> None:
        self.filters = {"state": state, "trigger": trigger, "stage": stage, "q": q}
        self.q = q.strip() if q and q.strip() else None
        self.run_state = _choice(RunState, "state", state)
        self.trigger = _choice(Trigger, "trigger", trigger)
        self.stage = _choice(Stage, "stage", stage)
        self.archived = _choice(ArchivedFilter, "archived", archived) or ArchivedFilter.FALSE
        self.filters["archived"] = self.archived.value
        self.limit = limit
        self.token = continuation_token

    def url(self, path: str, token: str | None = None) -> str:
        params = {
            k: v for k, v in self.filters.items() if v and not (k == "archived" and v == "false")
        }
        if self.limit != PAGE_SIZE:
            params["limit"] = str(self.limit)
        if token:
            params["continuation_token"] = token
        return f"{path}?{urlencode(params)}" if params else path


RunQueryDep = Annotated[RunQuery, Depends()]


@dataclass
class Backends:
    """What reading runs takes: Temporal (the runs), the database (archive flags), settings."""

    temporal: Client
    database: Database
    settings: Settings


async def _backends(
    temporal: TemporalDep, database: DatabaseDep, settings: SettingsDep
) -> Backends:
    return Backends(temporal, database, settings)


BackendsDep = Annotated[Backends, Depends(_backends)]


def _base(process_id: str | None) -> str:
    """Where a runs page lives: one process's runs, or every process's (``/ui/runs``)."""
    return f"/ui/processes/{process_id}/runs" if process_id else "/ui/runs"


async def _page_of_runs(b: Backends, process_id: str | None, query: RunQuery) -> Page[Run]:
    filters = run_query.RunFilters(
        process_id=process_id,
        stages=(query.stage,) if query.stage else (),
        states=(query.run_state,) if query.run_state else (),
        triggers=(query.trigger,) if query.trigger else (),
        q=query.q,
    )
    return await run_list.list_runs(
        b.temporal, b.database, b.settings, filters, query.archived, query.limit, query.token
    )


async def _rows_context(
    b: Backends, process_id: str | None, query: RunQuery, items: list[Run]
) -> dict[str, Any]:
    """The table body's context; every process's list names each row's process (one query
    for the page; a deleted process has no name, its id is shown)."""
    names: dict[str, str] = {}
    if process_id is None:
        async with b.database.sessions() as session:
            names = await process_repo.names(session, (r.process_id for r in items if r.process_id))
    return {
        "runs": items,
        "every_process": process_id is None,
        "process_names": names,
        "rows_url": query.url(f"{_base(process_id)}/rows", query.token),
        "live_done": all(run.state in FINAL_STATES for run in items),
    }


async def _runs_page(
    request: Request, ui: UiSession, b: Backends, query: RunQuery, process: Process | None
) -> Response:
    """View Runs: the filters, the actions bar and a page of the table."""
    process_id = process.id if process else None
    found = await _page_of_runs(b, process_id, query)
    items, token = found.items, found.continuation_token
    base = _base(process_id)
    return page(
        request,
        "runs.html",
        ui,
        nav="processes" if process else "runs",
        process=process,
        base=base,
        filters=query.filters,
        limit=query.limit if query.limit != PAGE_SIZE else None,
        options={"states": list(RunState), "triggers": list(Trigger), "stages": list(Stage)},
        here=query.url(base, query.token),
        first_url=query.url(base),
        next_url=query.url(base, token) if token else None,
        next_token=token,
        paged=query.token is not None,
        **await _rows_context(b, process_id, query, items),
    )


@router.get("/processes/{process_id}/runs")
async def runs_page(
    process_id: str,
    request: Request,
    ui: UiSessionDep,
    session: SessionDep,
    b: BackendsDep,
    query: RunQueryDep,
) -> Response:
    process = await processes.get(session, process_id)
    await session.commit()
    return await _runs_page(request, ui, b, query, process)


@router.get("/processes/{process_id}/runs/rows")
async def runs_rows(
    process_id: str, request: Request, ui: UiSessionDep, b: BackendsDep, query: RunQueryDep
) -> Response:
    """The table body alone: the page polls it so states change without a reload."""
    found = await _page_of_runs(b, process_id, query)
    context = await _rows_context(b, process_id, query, found.items)
    return page(request, "_runs_rows.html", ui, **context)


@router.get("/runs")
async def every_run_page(
    request: Request, ui: UiSessionDep, b: BackendsDep, query: RunQueryDep
) -> Response:
    """Runs of every process (deleted ones included), one visibility query a page."""
    return await _runs_page(request, ui, b, query, None)


@router.get("/runs/rows")
async def every_run_rows(
    request: Request, ui: UiSessionDep, b: BackendsDep, query: RunQueryDep
) -> Response:
    found = await _page_of_runs(b, None, query)
    context = await _rows_context(b, None, query, found.items)
    return page(request, "_runs_rows.html", ui, **context)


@router.post("/runs/actions")
async def act(
    request: Request,
    ui: CsrfSessionDep,
    temporal: TemporalDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """Apply an action to the selected runs; every run gets its own outcome."""
    form = await request.form()
    # "Re-run on Published r3" sends the stage to re-run on, and no action.
    stage = _choice(Stage, "rerun_stage", str(form.get("rerun_stage") or ""))
    action = (
        RunAction.RERUN if stage else _choice(RunAction, "action", str(form.get("action") or ""))
    )
    if action is None:
        raise InvalidInput("choose an action", [error_detail(("action",), "missing")])
    run_ids = [str(v) for v in form.getlist("run_id")]
    label = f"Re-run on {stage}" if stage else ACTION_LABELS[action]
    context: dict[str, Any] = {"action": action.value, "action_label": label}
    status = 200
    if not run_ids:
        context.update(results=[], names={}, message="Select at least one run first.")
        status = 422
    elif len(run_ids) > MAX_ACTION_RUNS:
        message = f"Select at most {MAX_ACTION_RUNS} runs at a time ({len(run_ids)} selected)."
        context.update(results=[], names={}, message=message)
        status = 422
    else:
        request_body = RunActionsRequest(action=action, run_ids=run_ids, stage=stage)
        results = await run_actions.perform(temporal, database, settings, request_body, ui.key)
        names = {r.run_id: r.run.name for r in results if r.run}  # a re-run keeps the name
        context.update(results=results, names=names)
    if request.headers.get("x-ui-fetch"):
        return page(request, "_action_results.html", ui, status, **context)
    return_to = safe_next(str(form.get("return_to") or ""))
    return page(request, "action_results.html", ui, status, return_to=return_to, **context)


async def _run_details(b: Backends, run_id: str) -> Run:
    run = await run_read.get_run(b.temporal, b.settings, run_id)
    [run] = await run_list.flagged(b.database, [run])
    return run


@router.get("/runs/{run_id}")
async def run_page(
    run_id: str, request: Request, ui: UiSessionDep, session: SessionDep, b: BackendsDep
) -> Response:
    run = await _run_details(b, run_id)
    process = None
    if run.process_id:
        try:
            process = await processes.get(session, run.process_id)
        except NotFound:
            pass  # deleted since: its runs stay in Temporal
    stored = [await files.get(session, file_id) for file_id in run.file_ids]
    current = None  # the revision the run's stage is at now, to offer a re-run on it
    if process is not None:
        by_stage = {
            Stage.DRAFT: process.draft_revision,
            Stage.PUBLISHED: process.published_revision,
        }
        current = by_stage.get(run.stage) if run.stage else None
    return page(
        request,
        "run.html",
        ui,
        nav="processes",
        run=run,
        process=process,
        files=stored,
        action_states=ACTION_STATES,
        current_revision=current,
    )


@router.get("/runs/{run_id}/live")
async def run_live(run_id: str, request: Request, ui: UiSessionDep, b: BackendsDep) -> Response:
    """State, timings, outputs, error and steps: polled by the run page until the run ends."""
    return page(request, "_run_live.html", ui, run=await _run_details(b, run_id))


@router.get("/runs/{run_id}/step-outputs")
async def step_outputs_page(
    run_id: str, request: Request, ui: UiSessionDep, b: BackendsDep
) -> Response:
    """Each step of a run with what it output (read from the run by a worker)."""
    run = await _run_details(b, run_id)
    outputs: dict[str, Any] | None = None
    problem, status = None, 200
    try:
        outputs = (await step_outputs.step_outputs(b.temporal, b.settings, run_id)).steps
    except (Unavailable, WorkerFailed) as exc:
        problem, status = exc.message, exc.status_code
    response = page(
        request,
        "step_outputs.html",
        ui,
        status,
        nav="processes",
        run=run,
        outputs=outputs,
        problem=problem,
    )
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


@router.get("/files/{file_id}")
async def download(
    file_id: str, _: UiSessionDep, session: SessionDep, settings: SettingsDep
) -> Response:
    return await file_download(session, settings, file_id)
