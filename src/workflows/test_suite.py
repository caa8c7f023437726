"""``TestSuiteWorkflow``: one test run. Each test case runs as a child ``ProcessRunWorkflow``
(``trigger: test``) of the revision resolved when the test run started; its outputs are then
compared with the case's baseline.

Progress is kept in the memo, one ``results:<test case id>`` field added as each case
finishes (not the whole list again: that grew the history quadratically), so the API can show
a test run that is still going without a worker answering a query. Diffs keep the start of
large values (``DiffBudget``): results must fit Temporal's payload and task limits.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import exceptions, workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from openruns.models import ProcessRunInput, RunResult
    from openruns.services.run_records import WORKFLOW_TYPE
    from openruns.services.run_start import start_options
    from openruns.states import Trigger
    from openruns.suite import (
        DiffBudget,
        Outcome,
        SuiteCase,
        TestCaseResult,
        TestSuiteInput,
        TestSuiteResult,
        compare_outputs,
    )

RESULTS_MEMO = "results"
PARALLEL = 10  # child runs at a time


def _error_message(error: ChildWorkflowError, timeout_seconds: int) -> str:
    cause = error.cause
    if isinstance(cause, exceptions.TimeoutError):
        return f"the run exceeded its timeout of {timeout_seconds} s"
    if isinstance(cause, exceptions.CancelledError | exceptions.TerminatedError):
        return "the run was cancelled"
    return f"the run failed: {getattr(cause, 'message', None) or cause or error}"


@workflow.defn(name="TestSuiteWorkflow")
class TestSuiteWorkflow:
    def __init__(self) -> None:
        self._results: dict[str, TestCaseResult] = {}
        self._budget = DiffBudget()

    @workflow.run
    async def run(self, input: TestSuiteInput) -> TestSuiteResult:
        gate = asyncio.Semaphore(PARALLEL)

        async def one(case: SuiteCase) -> None:
            async with gate:
                result = await self._run_case(input, case)
            self._results[case.test_case_id] = result
            workflow.upsert_memo(
                {f"{RESULTS_MEMO}:{case.test_case_id}": result.model_dump(mode="json")}
            )

        await asyncio.gather(*(one(case) for case in input.cases))
        return TestSuiteResult(results=[self._results[c.test_case_id] for c in input.cases])

    async def _run_case(self, input: TestSuiteInput, case: SuiteCase) -> TestCaseResult:
        if case.error is not None:
            return TestCaseResult(
                test_case_id=case.test_case_id, outcome=Outcome.ERROR, error=case.error
            )
        process = input.processes[case.process_id]
        run_input = ProcessRunInput(
            process_id=process.process_id,
            process_name=process.process_name,
            stage=input.stage,
            revision=process.revision,
            definition=process.definition,
            inputs=case.inputs,
            trigger=Trigger.TEST,
            name=case.name,
            file_ids=case.file_ids,
            test_run_id=input.test_run_id,
        )
        try:
            result = await workflow.execute_child_workflow(
                WORKFLOW_TYPE,
                run_input,
                id=case.run_id,
                result_type=RunResult,
                execution_timeout=timedelta(seconds=process.timeout_seconds),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                **start_options(run_input),
            )
        except ChildWorkflowError as exc:
            return TestCaseResult(
                test_case_id=case.test_case_id,
                run_id=case.run_id,
                outcome=Outcome.ERROR,
                error=_error_message(exc, process.timeout_seconds),
            )
        diff = self._budget.fit(
            compare_outputs(case.expected_outputs, result.outputs, case.compare)
        )
        return TestCaseResult(
            test_case_id=case.test_case_id,
            run_id=case.run_id,
            outcome=Outcome.FAILED if diff else Outcome.PASSED,
            diff=diff,
        )
