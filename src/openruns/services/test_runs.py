"""Test runs: run every test case of some processes against their Draft or Published revision.

The revisions are resolved here, before the ``TestSuiteWorkflow`` starts, and passed in: a
test run checks exactly the revisions that were current when it was asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from openruns.definition.inputs import EMAIL_INPUT, resolve_inputs
from openruns.errors import InvalidInput, NotFound, PayloadTooLarge, error_detail
from openruns.ids import new_id
from openruns.services.processes import load_definition, revision_for_stage
from openruns.services.run_start import too_large
from openruns.settings import Settings
from openruns.states import Stage
from openruns.store import Database
from openruns.store import processes as process_repo
from openruns.store import test_cases as case_repo
from openruns.suite import (
    Outcome,
    SuiteCase,
    SuiteProcess,
    TestCaseResult,
    TestRun,
    TestRunCreate,
    TestRunState,
    TestSuiteInput,
    TestSuiteResult,
    Totals,
)

WORKFLOW_TYPE = "TestSuiteWorkflow"
RESULTS_MEMO = "results"
MAX_CASES = 1000


async def _suite_input(database: Database, body: TestRunCreate, test_run_id: str) -> TestSuiteInput:
    process_ids = list(dict.fromkeys(body.process_ids))
    processes: dict[str, SuiteProcess] = {}
    cases: list[SuiteCase] = []
    async with database.session() as session:
        for process_id in process_ids:
            process = await process_repo.get_process(session, process_id)
            revision = await revision_for_stage(session, process_id, body.stage)
            definition = load_definition(revision)
            processes[process_id] = SuiteProcess(
                process_id=process_id,
                process_name=process.name,
                revision=revision.revision,
                definition=revision.definition,
                timeout_seconds=definition.timeout,
            )
            for row in await case_repo.for_processes(session, [process_id]):
                case = SuiteCase(
                    test_case_id=row.id,
                    run_id=new_id("run"),
                    process_id=process_id,
                    name=f"test: {row.name or row.source_run_id}"[:200],
                    file_ids=row.file_ids,
                    expected_outputs=row.expected_outputs,
                    compare=row.compare,
                )
                try:
                    allow_email = EMAIL_INPUT in row.inputs
                    case.inputs = resolve_inputs(definition, row.inputs, allow_email=allow_email)
                except InvalidInput as exc:
                    problems = "; ".join(f"{d['path']}: {d['message']}" for d in exc.details)
                    case.error = f"the inputs do not fit revision {revision.revision}: {problems}"
                cases.append(case)
    if not cases:
        raise InvalidInput(
            "there are no test cases to run",
            [error_detail(("process_ids",), "add test cases from Succeeded runs first")],
        )
    if len(cases) > MAX_CASES:
        raise InvalidInput(
            f"too many test cases ({len(cases)}); at most {MAX_CASES} per test run",
            [error_detail(("process_ids",), "run fewer processes at a time")],
        )
    return TestSuiteInput(
        test_run_id=test_run_id, stage=body.stage, processes=processes, cases=cases
    )


async def start_test_run(
    client: Client, database: Database, settings: Settings, body: TestRunCreate
) -> TestRun:
    """Resolve the revisions and test cases, then start the suite workflow."""
    test_run_id = new_id("testrun")
    suite = await _suite_input(database, body, test_run_id)
    try:
        await client.start_workflow(
            WORKFLOW_TYPE,
            suite,
            id=test_run_id,
            task_queue=settings.task_queue,
            memo={
                "stage": body.stage.value,
                "process_ids": list(suite.processes),
                "cases": [case.test_case_id for case in suite.cases],
            },
            static_summary=f"test run · {body.stage} · {len(suite.cases)} cases",
        )
    except RPCError as exc:
        if too_large(exc):
            raise PayloadTooLarge(
                "these test cases are more than Temporal takes as one test run's input (their "
                f"inputs, expected outputs and definitions; {exc.message}): test fewer "
                "processes at a time"
            ) from None
        raise
    report = TestRun(
        id=test_run_id,
        state=TestRunState.RUNNING,
        stage=suite.stage,
        process_ids=list(suite.processes),
        totals=Totals(),
        results=[],
        created_at=datetime.now(UTC),
        temporal_ui_url=settings.run_ui_url(test_run_id),
    )
    return _tally(report, [c.test_case_id for c in suite.cases], [])


def _tally(report: TestRun, case_ids: list[str], results: list[TestCaseResult]) -> TestRun:
    """``report`` with the results in test-case order and the totals counted."""
    by_case = {result.test_case_id: result for result in results}
    report.results = [by_case[case_id] for case_id in case_ids if case_id in by_case]
    report.totals = Totals(pending=len(case_ids) - len(report.results))
    for result in report.results:
        outcome = result.outcome.value
        setattr(report.totals, outcome, getattr(report.totals, outcome) + 1)
    return report


async def get_test_run(client: Client, settings: Settings, test_run_id: str) -> TestRun:
    """A test run while it runs (from its memo) and after (from its result)."""
    handle = client.get_workflow_handle(test_run_id, result_type=TestSuiteResult)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise
        description = None
    if description is None or description.workflow_type != WORKFLOW_TYPE:
        raise NotFound(f"test run {test_run_id!r} not found")
    status = description.status
    memo: dict[str, Any] = dict(await description.memo())
    case_ids: list[str] = memo.get("cases") or []
    results = [  # one memo field per finished case: results:<test case id>
        TestCaseResult.model_validate(value)
        for name, value in memo.items()
        if name.startswith(f"{RESULTS_MEMO}:")
    ]
    state = TestRunState.RUNNING
    if status == WorkflowExecutionStatus.COMPLETED:
        state = TestRunState.COMPLETED
        results = (await handle.result()).results
    elif status is not None and status != WorkflowExecutionStatus.RUNNING:
        state = TestRunState.COMPLETED  # stopped by an operator: unfinished cases are errors
        done = {r.test_case_id for r in results}
        results += [
            TestCaseResult(
                test_case_id=case_id,
                outcome=Outcome.ERROR,
                error=f"the test run ended ({status.name.lower()}) before this case ran",
            )
            for case_id in case_ids
            if case_id not in done
        ]
    report = TestRun(
        id=test_run_id,
        state=state,
        stage=Stage(memo.get("stage") or Stage.DRAFT),
        process_ids=list(memo.get("process_ids") or []),
        totals=Totals(),
        results=[],
        created_at=description.start_time,
        ended_at=description.close_time,
        temporal_ui_url=settings.run_ui_url(test_run_id),
    )
    return _tally(report, case_ids, results)
