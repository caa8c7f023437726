"""Reads of one run's event history: its first event (the input it started with), its close
event, or, for a caller waiting on the run, its whole history once it has closed."""

from __future__ import annotations

import time
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution as ExecutionRef
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from openruns.errors import NotFound
from openruns.models import ProcessRunInput
from openruns.services.run_records import WORKFLOW_TYPE

# How many events a wait reads in full (a run's whole history, as it happens) before it waits
# for the close event alone and describes the run instead: a one-step run has five.
HISTORY_READ_LIMIT = 200

# The status a run closed with, by its close event's type.
CLOSE_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: WorkflowExecutionStatus.COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: WorkflowExecutionStatus.FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: WorkflowExecutionStatus.CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: WorkflowExecutionStatus.TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: WorkflowExecutionStatus.TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: (
        WorkflowExecutionStatus.CONTINUED_AS_NEW
    ),
}


async def history_event(
    client: Client, run_id: str, *, close: bool, wait: float = 0
) -> HistoryEvent | None:
    """The first event, or the close event (long-polling up to ``wait`` seconds for it)."""
    request = GetWorkflowExecutionHistoryRequest(
        namespace=client.namespace,
        execution=ExecutionRef(workflow_id=run_id),
        maximum_page_size=1,
        wait_new_event=wait > 0,
        history_event_filter_type=(
            HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
            if close
            else HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT
        ),
    )
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        try:
            response = await client.workflow_service.get_workflow_execution_history(
                request, timeout=timedelta(seconds=remaining + 1) if wait > 0 else None
            )
        except RPCError as exc:
            if wait > 0 and exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
                return None
            raise
        events = response.history.events  # the server may return a whole batch, not one event
        if events:
            return events[-1] if close else events[0]
        if wait <= 0 or not response.next_page_token or time.monotonic() >= deadline:
            return None
        request.next_page_token = response.next_page_token  # the server's poll ended: go on


async def history_until_close(
    client: Client, run_id: str, wait: float
) -> list[HistoryEvent] | None:
    """The run's whole history once it has closed, long-polling up to ``wait`` seconds as
    its events arrive; None when it is still going then, or its history is a long one.

    A waiting request then needs no describe after the run closes: the history carries all
    a describe would tell (start and close times, memo and search attribute upserts), and
    the reads before the close overlap the run instead of following it."""
    request = GetWorkflowExecutionHistoryRequest(
        namespace=client.namespace,
        execution=ExecutionRef(workflow_id=run_id),
        wait_new_event=True,
        history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT,
    )
    events: list[HistoryEvent] = []
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        try:
            response = await client.workflow_service.get_workflow_execution_history(
                request, timeout=timedelta(seconds=remaining + 1)
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
                return None
            raise
        if not events and response.history.events:
            started = response.history.events[0].workflow_execution_started_event_attributes
            if started.workflow_type.name != WORKFLOW_TYPE:  # not a run: say so now
                raise NotFound(f"run {run_id!r} not found")
        events.extend(response.history.events)
        if events and events[-1].event_type in CLOSE_STATUS:
            return events
        if (
            not response.next_page_token
            or len(events) > HISTORY_READ_LIMIT
            or time.monotonic() >= deadline
        ):
            return None
        request.next_page_token = response.next_page_token


async def started_input(client: Client, run_id: str) -> ProcessRunInput | None:
    """The ``ProcessRunInput`` a run was started with (its first history event)."""
    first = await history_event(client, run_id, close=False)
    if first is None:
        return None
    started = first.workflow_execution_started_event_attributes
    if started.workflow_type.name != WORKFLOW_TYPE:  # e.g. a test run's id: not a run
        raise NotFound(f"run {run_id!r} not found")
    payloads = started.input.payloads
    if not payloads:
        return None
    [run_input] = await client.data_converter.decode(payloads, [ProcessRunInput])
    return run_input
