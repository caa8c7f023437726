"""Run use cases: start, read, list and cancel runs. Temporal is the only record of a run."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import unicodedata
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.api.common.v1 import Payload
from temporalio.api.common.v1 import WorkflowExecution as ExecutionRef
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from openruns import search_attributes as attrs
from openruns.definition.inputs import resolve_inputs
from openruns.definition.model import DEFAULT_TIMEOUT_SECONDS, Definition
from openruns.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, error_detail
from openruns.ids import new_id
from openruns.models import (
    EmailInfo,
    Page,
    ProcessRunInput,
    Run,
    RunError,
    RunResult,
    StepRecord,
    StepState,
)
from openruns.pagination import decode_token, encode_token
from openruns.services import visibility
from openruns.services.files import check_file_ids
from openruns.services.processes import CurrentRevision, load_definition, process_and_revision
from openruns.settings import Settings
from openruns.states import RunState, Stage, Trigger, run_state, visibility_filter
from openruns.store import idempotency

T = TypeVar("T")
WORKFLOW_TYPE = "ProcessRunWorkflow"
STEPS_MEMO = "steps"
SEARCH_TEXT_LIMIT = 2000
SAFE_VALUE = r"^[A-Za-z0-9_.:@+\-]{1,128}$"  # ids in visibility queries (OpenAPI too)
_SAFE_VALUE = re.compile(SAFE_VALUE)
_WORD = re.compile(r"[\w@.+\-]+", re.UNICODE)


@dataclass
class StartRequest:
    """A request to start a run of a process, from any trigger."""

    process_id: str
    stage: Stage
    trigger: Trigger
    inputs: Any = None
    name: str | None = None
    file_ids: list[str] = field(default_factory=list)
    email: EmailInfo | None = None
    run_id: str | None = None  # a deterministic id (email dedupe); new otherwise
    idempotency_scope: str | None = None
    idempotency_key: str | None = None


@dataclass
class Started:
    run: Run
    created: bool


# ---- starting ------------------------------------------------------------------------------


def _search_text(name: str, inputs: dict[str, Any], email: EmailInfo | None) -> str:
    """The words ``q`` matches: run name, email subject and sender, input values."""
    words: list[str] = [name]
    if email:
        words += [email.subject or "", email.sender or ""]

    def walk(value: Any) -> None:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            words.append(str(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk({k: v for k, v in inputs.items() if k != "email"})
    # Only the words ``q`` can match, and as many as fit: Temporal limits the attribute to
    # 2,048 bytes as the payload encodes it, where JSON writes a character past ASCII as
    # \uXXXX (6 bytes; 12 past the BMP) and a control character the same way.
    kept: list[str] = []
    size = 2  # the quotes
    text = " ".join(w for w in words if w)
    if not text.isascii():  # é as one character or as e + a combining accent: one spelling
        text = unicodedata.normalize("NFC", text)
    for match in _WORD.finditer(text):
        word = match.group()
        cost = len(word) + 1 if word.isascii() else sum(_json_char_size(c) for c in word) + 1
        if size + cost > SEARCH_TEXT_LIMIT:
            break
        kept.append(word)
        size += cost
    return " ".join(kept)


def _json_char_size(char: str) -> int:
    return 1 if char.isascii() else 6 if ord(char) < 0x10000 else 12


def _fingerprint(request: StartRequest) -> str:
    body = orjson.dumps(
        [
            request.process_id,
            request.stage,
            request.trigger,
            request.inputs,
            request.name,
            request.file_ids,
        ],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


async def prepare(session: AsyncSession, request: StartRequest) -> ProcessRunInput:
    """Resolve the process revision for the stage and validate the inputs (422 on bad input)."""
    current = await process_and_revision(session, request.process_id, request.stage)
    definition = load_definition(current)
    run_input = input_for(current, request, definition)
    file_inputs = {
        name: value
        for name, spec in definition.inputs.items()
        if spec.type == "file" and isinstance(value := run_input.inputs.get(name), str)
    }
    await check_file_ids(session, request.file_ids, file_inputs)
    return run_input


def input_for(
    current: CurrentRevision, request: StartRequest, definition: Definition | None = None
) -> ProcessRunInput:
    """The input of a run of ``current`` (the revision ``request``'s stage runs now), with
    the request's inputs validated against its definition (422 on bad input)."""
    definition = definition or load_definition(current)
    inputs = resolve_inputs(
        definition, request.inputs, allow_email=request.trigger == Trigger.EMAIL
    )
    now = datetime.now(UTC)
    return ProcessRunInput(
        process_id=current.process_id,
        process_name=current.process_name,
        stage=request.stage,
        revision=current.revision,
        definition=current.definition,
        inputs=inputs,
        trigger=request.trigger,
        name=request.name or f"{current.process_name} {now:%Y-%m-%d %H:%M:%S}",
        file_ids=request.file_ids,
        email=request.email,
    )


def start_options(run_input: ProcessRunInput) -> dict[str, Any]:
    """The search attributes, memo and summary every run starts with (API, gateway, schedules)."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(attrs.PROCESS_ID, run_input.process_id),
        SearchAttributePair(attrs.PROCESS_STAGE, run_input.stage.value),
        SearchAttributePair(attrs.RUN_TRIGGER, run_input.trigger.value),
        SearchAttributePair(attrs.RUN_STATE, RunState.PENDING.value),
        SearchAttributePair(
            attrs.RUN_SEARCH, _search_text(run_input.name, run_input.inputs, run_input.email)
        ),
    ]
    if run_input.revision is not None:
        pairs.append(SearchAttributePair(attrs.PROCESS_REVISION, run_input.revision))
    for key, value in (
        (attrs.RERUN_OF, run_input.rerun_of),
        (attrs.SCHEDULE_ID, run_input.schedule_id),
        (attrs.PARENT_RUN_ID, run_input.parent_run_id),
        (attrs.TEST_RUN_ID, run_input.test_run_id),
    ):
        if value:
            pairs.append(SearchAttributePair(key, value))
    memo: dict[str, Any] = {"name": run_input.name}
    if run_input.email:
        memo["email"] = run_input.email.model_dump(mode="json")
    revision = f" r{run_input.revision}" if run_input.revision else ""
    return {
        "search_attributes": TypedSearchAttributes(pairs),
        "memo": memo,
        "static_summary": f"{run_input.process_name} · {run_input.stage}{revision} · "
        f"{run_input.trigger}",
    }


async def launch(
    client: Client, settings: Settings, run_id: str, run_input: ProcessRunInput
) -> bool:
    """Start the workflow for ``run_id``; False when that run already exists (idempotent)."""
    timeout = (run_input.definition or {}).get("timeout", DEFAULT_TIMEOUT_SECONDS)
    try:
        await client.start_workflow(
            WORKFLOW_TYPE,
            run_input,
            id=run_id,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(seconds=timeout),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            **start_options(run_input),
        )
    except WorkflowAlreadyStartedError:
        return False  # it ran and closed already: the same run, not a new one
    except RPCError as exc:
        if too_large(exc):
            raise PayloadTooLarge(
                "the run's inputs and definition are larger than Temporal accepts for one run "
                f"({exc.message}); pass big data as a file (file_ids) instead"
            ) from None
        raise
    return True


def too_large(exc: RPCError) -> bool:
    """Temporal refused a request for its size (``limit.blobSize.error``)."""
    return exc.status == RPCStatusCode.INVALID_ARGUMENT and "size exceeds" in exc.message


async def input_size(client: Client, run_input: ProcessRunInput) -> int:
    """The bytes of ``run_input`` as Temporal receives it (JSON writes non-ASCII as \\uXXXX)."""
    return sum(p.ByteSize() for p in await client.data_converter.encode([run_input]))


def pending_run(settings: Settings, run_id: str, run_input: ProcessRunInput) -> Run:
    """The run just started with ``run_input``, as the API shows it (no Temporal round trip)."""
    return Run(
        id=run_id,
        name=run_input.name,
        process_id=run_input.process_id,
        stage=run_input.stage,
        revision=run_input.revision,
        state=RunState.PENDING,
        trigger=run_input.trigger,
        inputs=run_input.inputs,
        created_at=datetime.now(UTC),
        rerun_of=run_input.rerun_of,
        parent_run_id=run_input.parent_run_id,
        schedule_id=run_input.schedule_id,
        file_ids=run_input.file_ids,
        email=run_input.email,
        temporal_ui_url=settings.run_ui_url(run_id),
    )


async def start_run(
    client: Client,
    session: AsyncSession,
    settings: Settings,
    request: StartRequest,
    wait: float = 0,
) -> Started:
    """Validate, claim the idempotency key (if any), then start the run in Temporal.

    ``wait`` > 0 then waits (up to that many seconds) for the run to finish.
    """
    run_input = await prepare(session, request)
    run_id = request.run_id or new_id("run")
    is_new_claim = True
    if request.idempotency_key:
        run_id, is_new_claim = await idempotency.claim(
            session,
            request.idempotency_scope or "",
            request.idempotency_key,
            run_id,
            _fingerprint(request),
        )
    # Commit before calling Temporal: a claim must outlive a failed start so a retry reuses it,
    # and the connection goes back to the pool instead of idling through the start (and wait).
    await session.commit()
    await launch(client, settings, run_id, run_input)
    if wait > 0:
        run = await get_run(client, settings, run_id, wait=wait, run_input=run_input)
        return Started(run, created=is_new_claim)
    if not is_new_claim or request.run_id:
        return Started(await get_run(client, settings, run_id), created=is_new_claim)
    return Started(pending_run(settings, run_id, run_input), created=True)


# ---- reading -------------------------------------------------------------------------------


_NEVER_PICKED_UP = 3  # history events of a run closed before its first task started


def _from_execution(execution: WorkflowExecution, memo: dict[str, Any], settings: Settings) -> Run:
    return _run_record(
        execution.id,
        execution.status,
        execution.typed_search_attributes,
        execution.start_time,
        execution.close_time,
        memo,
        settings,
        execution.history_length,
    )


def _run_record(
    run_id: str,
    status: WorkflowExecutionStatus | None,
    sa: TypedSearchAttributes,
    start_time: datetime,
    close_time: datetime | None,
    memo: dict[str, Any],
    settings: Settings,
    history_length: int,
) -> Run:
    # One dict instead of ``sa.get`` per field: a typed collection's ``get`` is a linear scan
    # comparing keys as dataclasses, ten times per record.
    values: dict[SearchAttributeKey[Any], Any] = {pair.key: pair.value for pair in sa}
    state = run_state(status, values.get(attrs.RUN_STATE))
    email = memo.get("email")
    # A run that finished within its first workflow task never upserted its start: its start
    # is its end. One that timed out or was terminated before any worker took it (its history
    # is the start, the first task scheduled, the close) never started at all.
    started_at = values.get(attrs.RUN_STARTED_AT)
    if started_at is None and state.is_final and history_length > _NEVER_PICKED_UP:
        started_at = close_time
    return Run(
        id=run_id,
        name=memo.get("name"),
        process_id=values.get(attrs.PROCESS_ID),
        stage=values.get(attrs.PROCESS_STAGE),
        revision=values.get(attrs.PROCESS_REVISION),
        state=state,
        trigger=values.get(attrs.RUN_TRIGGER),
        created_at=start_time,
        started_at=started_at,
        ended_at=close_time,
        rerun_of=values.get(attrs.RERUN_OF),
        schedule_id=values.get(attrs.SCHEDULE_ID),
        parent_run_id=values.get(attrs.PARENT_RUN_ID),
        email=EmailInfo.model_validate(email) if email else None,
        temporal_ui_url=settings.run_ui_url(run_id),
    )


async def _history_event(
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


async def _describe(client: Client, run_id: str) -> WorkflowExecutionDescription:
    description = await client.get_workflow_handle(run_id).describe()
    if description.workflow_type != WORKFLOW_TYPE:
        raise NotFound(f"run {run_id!r} not found")
    return description


async def _given(value: T) -> T:
    return value


async def _run_rpc(run_id: str, call: Awaitable[T]) -> T:
    """Await a Temporal call about one run; "no such workflow" becomes a 404."""
    try:
        return await call
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise NotFound(f"run {run_id!r} not found") from None
        raise


async def _error(client: Client, event: HistoryEvent, status: WorkflowExecutionStatus) -> RunError:
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
        return RunError(message="the run exceeded its execution timeout", type="TimedOut")
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
    """Close steps left Running by a run that ended without finishing them (timeout, stop)."""
    closing = {
        RunState.TIMED_OUT: StepState.TIMED_OUT,
        RunState.CANCELLED: StepState.CANCELLED,
        RunState.FAILED: StepState.FAILED,
    }.get(state)
    if closing is None:
        return
    for step in steps:
        if step.state == StepState.RUNNING:
            step.state, step.ended_at = closing, step.ended_at or ended


async def _started_input(client: Client, run_id: str) -> ProcessRunInput | None:
    """The ``ProcessRunInput`` a run was started with (its first history event)."""
    first = await _history_event(client, run_id, close=False)
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
        events = await _run_rpc(run_id, _history_until_close(client, run_id, wait))
        if events is not None:
            return await _from_history(client, settings, run_id, events, run_input)
        remaining = deadline - time.monotonic()
        if remaining > 0:  # a long history: wait for the close event alone
            close = await _run_rpc(
                run_id, _history_event(client, run_id, close=True, wait=remaining)
            )
    description, started_input = await asyncio.gather(
        _run_rpc(run_id, _describe(client, run_id)),
        _run_rpc(run_id, _started_input(client, run_id))
        if run_input is None
        else _given(run_input),
    )
    memo = dict(await description.memo())
    run = _from_execution(description, memo, settings)
    if run.state.is_final and close is None:
        close = await _history_event(client, run_id, close=True)
    return await _complete(client, run, memo, started_input, close, description.status)


async def _complete(
    client: Client,
    run: Run,
    memo: dict[str, Any],
    started_input: ProcessRunInput | None,
    close: HistoryEvent | None,
    status: WorkflowExecutionStatus | None,
) -> Run:
    """``run`` (as lists show it) with its inputs, step timeline and outputs or error."""
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
            run.error = await _error(client, close, status)
        _final_timeline(steps, run.state, run.ended_at)
    run.steps = steps
    return run


# How many events a wait reads in full (a run's whole history, as it happens) before it waits
# for the close event alone and describes the run instead: a one-step run has five.
HISTORY_READ_LIMIT = 200

_CLOSE_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: WorkflowExecutionStatus.COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: WorkflowExecutionStatus.FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: WorkflowExecutionStatus.CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: WorkflowExecutionStatus.TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: WorkflowExecutionStatus.TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: (
        WorkflowExecutionStatus.CONTINUED_AS_NEW
    ),
}


async def _history_until_close(
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
        if events and events[-1].event_type in _CLOSE_STATUS:
            return events
        if (
            not response.next_page_token
            or len(events) > HISTORY_READ_LIMIT
            or time.monotonic() >= deadline
        ):
            return None
        request.next_page_token = response.next_page_token


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
    close, status = events[-1], _CLOSE_STATUS[events[-1].event_type]
    run = _run_record(
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
    return await _complete(client, run, memo, run_input, close, status)


async def _decode_memo(client: Client, fields: dict[str, Payload]) -> dict[str, Any]:
    names = list(fields)
    values = await client.data_converter.decode([fields[name] for name in names])
    # An upsert of null removes the field, as Temporal's own merge does.
    return {name: value for name, value in zip(names, values, strict=True) if value is not None}


async def run_with_input(
    client: Client, settings: Settings, run_id: str
) -> tuple[Run, ProcessRunInput]:
    """A run (as lists show it) and the input it was started with, e.g. to re-run it."""
    description, first = await asyncio.gather(
        _run_rpc(run_id, _describe(client, run_id)),
        _run_rpc(run_id, _history_event(client, run_id, close=False)),
    )
    run = _from_execution(description, dict(await description.memo()), settings)
    payloads = first.workflow_execution_started_event_attributes.input.payloads if first else []
    if not payloads:
        raise NotFound(f"run {run_id!r} has no recorded input")
    [run_input] = await client.data_converter.decode(payloads, [ProcessRunInput])
    return run, run_input


def run_summary(execution: WorkflowExecution, settings: Settings, client: Client) -> Run:
    """A run as lists show it (no inputs, outputs or timeline), from a visibility record."""
    return _from_execution(
        execution, visibility.list_memo(execution, client.data_converter), settings
    )


# ---- listing -------------------------------------------------------------------------------


@dataclass
class RunFilters:
    process_id: str | None = None
    stage: Stage | None = None
    state: RunState | None = None
    trigger: Trigger | None = None
    q: str | None = None
    schedule_id: str | None = None


def _literal(name: str, value: str) -> str:
    if not _SAFE_VALUE.match(value):
        raise InvalidInput(f"invalid {name}", [error_detail((name,), "unexpected characters")])
    return f"'{value}'"


def build_query(filters: RunFilters) -> str:
    """The Temporal visibility query for ``filters`` (test runs only when asked for)."""
    clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'"]
    if filters.process_id:
        clauses.append(f"ProcessId = {_literal('process_id', filters.process_id)}")
    if filters.stage:
        clauses.append(f"ProcessStage = '{filters.stage.value}'")
    if filters.trigger:
        clauses.append(f"RunTrigger = '{filters.trigger.value}'")
    else:
        clauses.append(f"RunTrigger != '{Trigger.TEST.value}'")
    if filters.state:
        clauses.append(f"({visibility_filter(filters.state)})")
    if filters.schedule_id:
        clauses.append(f"OpenRunsScheduleId = {_literal('schedule_id', filters.schedule_id)}")
    query = unicodedata.normalize("NFC", filters.q or "")  # as the search text is written
    words = [w for w in _WORD.findall(query) if any(c.isalnum() for c in w)]
    for word in words[:10]:  # each word must occur (README, "HTTP API": `q`)
        clauses.append(f"RunSearch = '{word.replace(chr(39), '')}'")
    return " AND ".join(clauses)


async def list_runs(
    client: Client, settings: Settings, filters: RunFilters, limit: int, token: str | None
) -> Page[Run]:
    """A page of runs in Temporal's visibility order (unfinished first, then newest ended)."""
    query = build_query(filters)
    query_hash = hashlib.sha256(query.encode()).hexdigest()[:12]
    temporal_token = None
    if token:
        state = decode_token(token)
        if state.get("q") != query_hash:
            raise InvalidInput(
                "this continuation_token belongs to a different query",
                [error_detail(("continuation_token",), "filters changed since it was issued")],
            )
        try:
            temporal_token = bytes.fromhex(state["t"])
        except (KeyError, TypeError, ValueError):  # tampered with: not hex, not a string
            raise InvalidInput(
                "invalid continuation_token",
                [error_detail(("continuation_token",), "not a token this API issued")],
            ) from None
    executions, page_token = await visibility.page(client, query, limit, temporal_token)
    items = [run_summary(e, settings, client) for e in executions]
    next_token = None
    if page_token:
        next_token = encode_token({"t": page_token.hex(), "q": query_hash})
    return Page[Run](items=items, continuation_token=next_token)


# ---- cancelling ----------------------------------------------------------------------------


async def cancel_run(client: Client, settings: Settings, run_id: str) -> Run:
    """Request cancellation of a Pending or Running run (409 when it has finished)."""
    description = await _run_rpc(run_id, _describe(client, run_id))
    run = _from_execution(description, dict(await description.memo()), settings)
    if run.state.is_final:
        raise Conflict(f"run {run_id!r} has already finished ({run.state})")
    try:
        await client.get_workflow_handle(run_id).cancel()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise Conflict(f"run {run_id!r} has already finished") from None
        raise
    return run
