"""Test Suite page: test cases per process, running the suite against Draft or Published, and
a test run's results with their diffs, live while it runs."""

from __future__ import annotations

from typing import Any, NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DatabaseDep, SessionDep, SettingsDep, TemporalDep
from api.ui.auth import CsrfSessionDep, UiSessionDep
from api.ui.render import page
from openruns.errors import InvalidInput, NotFound, error_detail
from openruns.models import Process
from openruns.services import processes, test_cases, test_runs
from openruns.states import Stage
from openruns.store import Database
from openruns.store import processes as process_repo
from openruns.store import test_cases as case_repo
from openruns.suite import MAX_SUITE_PROCESSES, TestCase, TestRun, TestRunCreate

router = APIRouter(prefix="/ui", include_in_schema=False)
MAX_PROCESSES = 1000
SHOWN_PER_PROCESS = 20  # test cases per process on the overview; the rest on its own page
CASES_PER_PAGE = 100


async def _all_processes(session: AsyncSession) -> list[Process]:
    found: list[Process] = []
    token = None
    while len(found) < MAX_PROCESSES:
        items, token = await processes.list_page(session, 100, token)
        found += items
        if token is None:
            break
    return found


class Group(NamedTuple):
    """A process on the Test Suite page, with the test cases shown of its ``total``."""

    process: Process
    cases: list[TestCase]
    total: int
    next_token: str | None = None  # the next page of a process's own page


async def _groups(session: AsyncSession) -> list[Group]:
    """Every process that has test cases, with its oldest ``SHOWN_PER_PROCESS`` cases."""
    totals = await case_repo.counts(session)
    every = [p for p in await _all_processes(session) if p.id in totals]
    rows = await case_repo.first_of_each(session, [p.id for p in every], SHOWN_PER_PROCESS)
    cases: dict[str, list[TestCase]] = {}
    for row in rows:
        cases.setdefault(row.process_id, []).append(test_cases.to_model(row))
    return [Group(p, cases.get(p.id, []), totals[p.id]) for p in every]


async def _one_process(
    session: AsyncSession, database: Database, process_id: str, token: str | None
) -> list[Group]:
    """One process's test cases, a page at a time."""
    process = await processes.get(session, process_id)
    found = await test_cases.list_page(database, process_id, CASES_PER_PAGE, token)
    total = (await case_repo.counts(session)).get(process_id, 0)
    return [Group(process, found.items, total, found.continuation_token)] if total else []


async def _report(session: AsyncSession, report: TestRun | None) -> dict[str, Any]:
    """A test run with its cases and process names, for its results section."""
    if report is None:
        return {"test_run": None, "cases": {}, "process_names": {}}
    rows = await case_repo.for_processes(session, report.process_ids)
    names = {}
    for process_id in report.process_ids:
        try:
            names[process_id] = (await process_repo.get_process(session, process_id)).name
        except NotFound:
            pass  # deleted since the test run
    return {
        "test_run": report,
        "cases": {row.id: test_cases.to_model(row) for row in rows},
        "process_names": names,
    }


@router.get("/test-suite")
async def test_suite_page(
    request: Request,
    ui: UiSessionDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    database: DatabaseDep,
    test_run: str | None = None,
    process_id: str | None = None,
    continuation_token: str | None = None,
) -> Response:
    """Every process's first test cases, or (``process_id``) all of one process's, by page."""
    if process_id:
        groups = await _one_process(session, database, process_id, continuation_token)
    else:
        groups = await _groups(session)
    await session.commit()
    report = await test_runs.get_test_run(temporal, settings, test_run) if test_run else None
    context = await _report(session, report)
    return page(
        request,
        "test_suite.html",
        ui,
        nav="test-suite",
        groups=groups,
        one_process=process_id,
        **context,
    )


@router.get("/test-suite/runs/{test_run_id}")
async def test_run_results(
    test_run_id: str,
    request: Request,
    ui: UiSessionDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """The results section alone: polled by the page until the test run has completed."""
    report = await test_runs.get_test_run(temporal, settings, test_run_id)
    return page(request, "_test_run.html", ui, **await _report(session, report))


@router.post("/test-suite/run")
async def run_suite(
    request: Request,
    _: CsrfSessionDep,
    temporal: TemporalDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """Run the test cases of the chosen processes against their Draft or Published revision."""
    form = await request.form()
    process_ids = [str(v) for v in form.getlist("process_id")]
    if not process_ids:
        raise InvalidInput(
            "choose at least one process", [error_detail(("process_ids",), "none chosen")]
        )
    try:
        stage = Stage(str(form.get("stage") or Stage.DRAFT.value))
    except ValueError:
        raise InvalidInput("stage must be Draft or Published") from None
    if len(process_ids) > MAX_SUITE_PROCESSES:  # as the API: never run part of a selection
        raise InvalidInput(
            f"{len(process_ids)} processes chosen; a test run takes at most {MAX_SUITE_PROCESSES}",
            [error_detail(("process_ids",), "choose fewer processes and run the rest next")],
        )
    body = TestRunCreate(process_ids=process_ids, stage=stage)
    report = await test_runs.start_test_run(temporal, database, settings, body)
    return RedirectResponse(f"/ui/test-suite?test_run={report.id}", status_code=303)


@router.post("/test-cases/{test_case_id}/delete")
async def delete_case(test_case_id: str, _: CsrfSessionDep, database: DatabaseDep) -> Response:
    await test_cases.delete(database, test_case_id)
    return RedirectResponse("/ui/test-suite", status_code=303)
