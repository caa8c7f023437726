"""``ProcessRunWorkflow``: one run of one process revision. The workflow ID is the run ID.

The sandbox re-imports this module for every run, so it holds only the workflow's Temporal
surface; what a run does is ``run_engine.RunEngine``, imported once through the sandbox.
(No ``from __future__ import annotations``: the workflow decorators read the type hints of
``run`` and the signal for every run, and string annotations would be evaluated each time.)
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from openruns.models import STEP_OUTPUTS_QUERY, ProcessRunInput, RunResult
    from openruns.run_actions import ARCHIVE_SIGNAL, ArchiveSignal
    from workflows.run_engine import WORKFLOW_NAME, RunEngine


@workflow.defn(name=WORKFLOW_NAME)
class ProcessRunWorkflow:
    def __init__(self) -> None:
        self._engine = RunEngine()

    @workflow.signal(name=ARCHIVE_SIGNAL)
    def set_archived(self, change: ArchiveSignal) -> None:
        """Tag the run as (un)archived so lists can leave it out; nothing else changes."""
        self._engine.set_archived(change)

    @workflow.query(name=STEP_OUTPUTS_QUERY)
    def step_outputs(self, step_id: str | None = None) -> dict[str, Any]:
        """Each finished step's output by step id (null for a skipped step), or only
        ``step_id``'s. A closed run answers it by being replayed on a worker."""
        return self._engine.step_outputs(step_id)

    @workflow.run
    async def run(self, input: ProcessRunInput) -> RunResult:
        return await self._engine.run(input)
