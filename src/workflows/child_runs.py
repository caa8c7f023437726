"""The pure half of the ``process`` step: the child run's id, input, start options and timeout.

A child run is a run of its own (workflow ID = run ID) started as a Temporal child workflow:
its id derives from the parent's run id and the step id, so a replay starts the very same
child; it records the parent's trigger and ``parent_run_id``; the parent's remaining time
bounds its execution timeout, and ``REQUEST_CANCEL`` ends it when the parent ends early.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError, is_cancelled_exception
from temporalio.exceptions import TimeoutError as TemporalTimeoutError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from openruns.definition.model import DEFAULT_TIMEOUT_SECONDS
    from openruns.definition.steps import ProcessArgs
    from openruns.ids import stable_id
    from openruns.models import ProcessRunInput, ResolvedRun, RunResult
    from openruns.services.run_start import start_options

MIN_CHILD_TIMEOUT = timedelta(seconds=1)


def child_run_id(parent_run_id: str, step_id: str) -> str:
    """Deterministic, so replaying the parent finds the child it already started."""
    return stable_id("run", parent_run_id, step_id)


def child_input(
    parent: ProcessRunInput, step_id: str, args: ProcessArgs, resolved: ResolvedRun
) -> ProcessRunInput:
    process_name = resolved.process_name or args.process_id
    return ProcessRunInput(
        process_id=args.process_id,
        process_name=process_name,
        stage=args.stage,
        revision=resolved.revision,
        definition=resolved.definition,
        inputs=resolved.inputs,
        trigger=parent.trigger,
        name=f"{process_name} (step {step_id} of {parent.name})",
        parent_run_id=workflow.info().workflow_id,
        depth=parent.depth + 1,
    )


def child_timeout(child: ProcessRunInput) -> timedelta:
    """The child's own timeout, cut to what is left of the parent's execution timeout."""
    own = timedelta(seconds=(child.definition or {}).get("timeout", DEFAULT_TIMEOUT_SECONDS))
    info = workflow.info()
    if info.execution_timeout is None:
        return own
    remaining = info.workflow_start_time + info.execution_timeout - workflow.now()
    return max(min(own, remaining), MIN_CHILD_TIMEOUT)


async def start_child(
    workflow_name: str,
    parent: ProcessRunInput,
    step_id: str,
    args: ProcessArgs,
    resolved: ResolvedRun,
) -> workflow.ChildWorkflowHandle[Any, RunResult]:
    """Start the child run of a ``process`` step (awaiting the handle gives its result)."""
    child = child_input(parent, step_id, args, resolved)
    return await workflow.start_child_workflow(
        workflow_name,
        child,
        id=child_run_id(workflow.info().workflow_id, step_id),
        result_type=RunResult,
        execution_timeout=child_timeout(child),
        parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        **start_options(child),
    )


def outcome(error: ChildWorkflowError, message: str) -> str | None:
    """How the step reports a child run that ended badly; None when the parent is cancelled."""
    if isinstance(error.cause, TemporalTimeoutError):
        return "timed out"
    if not is_cancelled_exception(error):
        return f"failed: {message}"
    if workflow.cancellation_reason() is None:
        return "was cancelled"  # on its own: nobody asked the parent to stop
    return None
