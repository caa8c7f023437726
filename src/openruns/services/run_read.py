"""One run: read it whole (inputs, outputs or error, step timeline), long-polling until it
finishes when asked to; read it with the input it started with (to re-run it); cancel it.

Temporal is the only record of a run: a describe plus its first and close events, or, for a
wait that sees the run close, its whole history.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from google.protobuf.duration_pb2 import Duration
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from openruns.errors import Conflict, NotFound
from openruns.models import ProcessRunInput, Run, RunError, RunResult, StepRecord, StepState
from openruns.services import run_history, visibility
from openruns.services.run_records import describe, from_execution, run_record, run_rpc
from openruns.settings import Settings
from openruns.states import RunState

T = TypeVar("T")
STEPS_MEMO = "steps"


async def get_run(
    client: Client,
    settings: Settings,
    run_id: str,
    wait: float = 0,
    run_input: ProcessRunInput | None = None,
) -> Run:
    """One run with inputs, outputs, error and step timeline.

    ``wait`` > 0 long-polls (up to that many seconds) until the run has finished;
    ``run_input``, when the caller has it, saves reading the run's first event.
    """
    close = None
    if wait > 0:
        deadline = time.monotonic() + wait
        events = await run_rpc(run_id, run_history.history_until_close(client, run_id, wait))
        if events is not None:
            return await _from_history(client, settings, run_id, events, run_input)
        remaining = deadline - time.monotonic()
        if remaining > 0:  # a long history: wait for the close event alone
            close = await run_rpc(
                run_id, run_history.history_event(client, run_id, close=True, wait=remaining)
            )
    description, started_input = await asyncio.gather(
        run_rpc(run_id, describe(client, run_id)),
        run_rpc(run_id, run_history.started_input(client, run_id))
        if run_input is None
        else _given(run_input),
    )
    memo = dict(await description.memo())
    run = from_execution(description, memo, settings)
    if run.state.is_final and close is None:
        close = await run_history.history_event(client, run_id, close=True)
    limit = _timeout(description.raw_description.execution_config.workflow_execution_timeout)
    return await _complete(client, run, memo, started_input, close, description.status, limit)


async def _complete(
    client: Client,
    run: Run,
    memo: dict[str, Any],
    started_input: ProcessRunInput | None,
    close: HistoryEvent | None,
    status: WorkflowExecutionStatus | None,
    timeout: timedelta | None,
) -> Run:
    """``run`` (as lists show it) with its inputs, step timeline and outputs or error;
    ``timeout``: its execution timeout, which a run that timed out names."""
    if started_input is not None:
        run.inputs = started_input.inputs
        run.file_ids = started_input.file_ids
        run.revision = run.revision or started_input.revision
    steps = [StepRecord.model_validate(s) for s in memo.get(STEPS_MEMO) or []]
    if run.state.is_final:
        if close is not None and run.state == RunState.SUCCEEDED:
            attributes = close.workflow_execution_completed_event_attributes
            [value] = await client.data_converter.decode_wrapper(attributes.result) or [None]
            result = _run_result(value)
            if result is None:
                run.outputs = value
            else:
                run.outputs, steps = result.outputs, result.steps
        elif close is not None:
            assert status is not None
            run.error = await _error(client, close, status, timeout)
        _final_timeline(steps, run.state, run.ended_at)
    run.steps = steps
    return run


async def _from_history(
    client: Client,
    settings: Settings,
    run_id: str,
    events: list[HistoryEvent],
    run_input: ProcessRunInput | None,
) -> Run:
    """A closed run from its whole history: what ``get_run`` reads from a describe."""
    started = events[0].workflow_execution_started_event_attributes
    memo_payloads = dict(started.memo.fields)
    search = dict(started.search_attributes.indexed_fields)
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            upserted = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            search.update(upserted.indexed_fields)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            upserted_memo = event.workflow_properties_modified_event_attributes.upserted_memo
            memo_payloads.update(upserted_memo.fields)
    memo = await _decode_memo(client, memo_payloads)
    close, status = events[-1], run_history.CLOSE_STATUS[events[-1].event_type]
    run = run_record(
        run_id,
        status,
        visibility.record_attributes(search),
        events[0].event_time.ToDatetime(UTC),
        close.event_time.ToDatetime(UTC),
        memo,
        settings,
        close.event_id,
    )
    if run_input is None and started.input.payloads:
        [run_input] = await client.data_converter.decode(started.input.payloads, [ProcessRunInput])
    limit = _timeout(started.workflow_execution_timeout)
    return await _complete(client, run, memo, run_input, close, status, limit)


async def _decode_memo(client: Client, fields: dict[str, Payload]) -> dict[str, Any]:
    names = list(fields)
    values = await client.data_converter.decode([fields[name] for name in names])
    # An upsert of null removes the field, as Temporal's own merge does.
    return {name: value for name, value in zip(names, values, strict=True) if value is not None}


async def _given(value: T) -> T:
    return value


def _timeout(duration: Duration) -> timedelta | None:
    """A start's execution timeout (zero: none was set)."""
    value = duration.ToTimedelta()
    return value if value > timedelta(0) else None


def _seconds(value: timedelta) -> str:
    """300 s, 2.5 s (a child run's is what its parent had left, to the millisecond)."""
    return f"{value.total_seconds():.3f}".rstrip("0").rstrip(".") + " s"


async def _error(
    client: Client,
    event: HistoryEvent,
    status: WorkflowExecutionStatus,
    timeout: timedelta | None,
) -> RunError:
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        failure = await client.data_converter.decode_failure(
            event.workflow_execution_failed_event_attributes.failure
        )
        details = failure.details if isinstance(failure, ApplicationError) else ()
        step = details[0].get("step") if details and isinstance(details[0], dict) else None
        kind = failure.type if isinstance(failure, ApplicationError) else type(failure).__name__
        # the message alone: ``str`` of a typed ApplicationError repeats the type in front
        message = failure.message if isinstance(failure, FailureError) else str(failure)
        return RunError(message=message, step=step, type=kind)
    if status == WorkflowExecutionStatus.TIMED_OUT:
        limit = f" of {_seconds(timeout)}" if timeout else ""
        return RunError(message=f"the run exceeded its timeout{limit}", type="TimedOut")
    if status == WorkflowExecutionStatus.TERMINATED:
        reason = event.workflow_execution_terminated_event_attributes.reason
        return RunError(message=f"terminated: {reason or 'by an operator'}", type="Terminated")
    return RunError(message="the run was cancelled", type="Cancelled")


def _run_result(value: Any) -> RunResult | None:
    """A succeeded run's result: its outputs and final timeline. None for a run that finished
    before results carried the timeline (its result is its outputs; its timeline, the memo)."""
    if not isinstance(value, dict) or value.keys() != {"outputs", "steps"}:
        return None
    try:
        return RunResult.model_validate(value)
    except ValidationError:
        return None


def _final_timeline(steps: list[StepRecord], state: RunState, ended: datetime | None) -> None:
    """Close the steps a finished run left open: one left Running ends as the run did
    (timeout, stop), and one it never reached did not run (Skipped, as a false ``if``)."""
    closing = {
        RunState.TIMED_OUT: StepState.TIMED_OUT,
        RunState.CANCELLED: StepState.CANCELLED,
        RunState.FAILED: StepState.FAILED,
    }.get(state)
    for step in steps:
        if step.state == StepState.PENDING:
            step.state = StepState.SKIPPED
        elif step.state == StepState.RUNNING and closing is not None:
            step.state, step.ended_at = closing, step.ended_at or ended


async def run_with_input(
    client: Client, settings: Settings, run_id: str
) -> tuple[Run, ProcessRunInput]:
    """A run (as lists show it) and the input it was started with, e.g. to re-run it."""
    description, first = await asyncio.gather(
        run_rpc(run_id, describe(client, run_id)),
        run_rpc(run_id, run_history.history_event(client, run_id, close=False)),
    )
    run = from_execution(description, dict(await description.memo()), settings)
    payloads = first.workflow_execution_started_event_attributes.input.payloads if first else []
    if not payloads:
        raise NotFound(f"run {run_id!r} has no recorded input")
    [run_input] = await client.data_converter.decode(payloads, [ProcessRunInput])
    return run, run_input


async def cancel_run(client: Client, settings: Settings, run_id: str) -> Run:
    """Request cancellation of a Pending or Running run (409 when it has finished)."""
    description = await run_rpc(run_id, describe(client, run_id))
    run = from_execution(description, dict(await description.memo()), settings)
    if run.state.is_final:
        raise Conflict(f"run {run_id!r} has already finished ({run.state})")
    try:
        await client.get_workflow_handle(run_id).cancel()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise Conflict(f"run {run_id!r} has already finished") from None
        raise
    return run
