"""Run states and triggers, and how a run's state derives from its Temporal execution."""

from __future__ import annotations

from enum import StrEnum

from temporalio.client import WorkflowExecutionStatus


class RunState(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    TIMED_OUT = "TimedOut"

    @property
    def is_final(self) -> bool:
        return self not in (RunState.PENDING, RunState.RUNNING)


class Trigger(StrEnum):
    MANUAL = "manual"
    API = "api"
    EMAIL = "email"
    SCHEDULE = "schedule"
    TEST = "test"


class Stage(StrEnum):
    DRAFT = "Draft"
    PUBLISHED = "Published"


_FINAL = {
    WorkflowExecutionStatus.COMPLETED: RunState.SUCCEEDED,
    WorkflowExecutionStatus.FAILED: RunState.FAILED,
    WorkflowExecutionStatus.CANCELED: RunState.CANCELLED,
    WorkflowExecutionStatus.TERMINATED: RunState.CANCELLED,
    WorkflowExecutionStatus.TIMED_OUT: RunState.TIMED_OUT,
    # Continue-as-new is never used by runs; treat it as still in progress.
    WorkflowExecutionStatus.CONTINUED_AS_NEW: RunState.RUNNING,
}


def run_state(status: WorkflowExecutionStatus | None, run_state_attribute: str | None) -> RunState:
    """The run state: final states from the execution status, Pending/Running from ``RunState``."""
    if status is not None and status in _FINAL:
        return _FINAL[status]
    if run_state_attribute == RunState.RUNNING:
        return RunState.RUNNING
    return RunState.PENDING


def visibility_filter(state: RunState) -> str:
    """The Temporal visibility clause selecting runs in ``state``."""
    return {
        RunState.PENDING: "ExecutionStatus = 'Running' AND RunState = 'Pending'",
        RunState.RUNNING: "ExecutionStatus = 'Running' AND RunState = 'Running'",
        RunState.SUCCEEDED: "ExecutionStatus = 'Completed'",
        RunState.FAILED: "ExecutionStatus = 'Failed'",
        RunState.CANCELLED: "ExecutionStatus IN ('Canceled', 'Terminated')",
        RunState.TIMED_OUT: "ExecutionStatus = 'TimedOut'",
    }[state]
