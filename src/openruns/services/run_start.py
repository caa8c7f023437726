"""Starting a run, from any trigger: validate the request against the revision its stage
runs, claim its idempotency key, start the workflow with the search attributes, memo and
summary every run has (``start_options``, shared with schedules and child runs)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from openruns import search_attributes as attrs
from openruns.definition.inputs import resolve_inputs
from openruns.definition.model import DEFAULT_TIMEOUT_SECONDS, Definition
from openruns.errors import PayloadTooLarge
from openruns.ids import new_id
from openruns.models import EmailInfo, ProcessRunInput, Run
from openruns.services.files import check_file_ids
from openruns.services.processes import CurrentRevision, load_definition, process_and_revision
from openruns.services.run_query import search_text
from openruns.services.run_read import get_run
from openruns.services.run_records import WORKFLOW_TYPE
from openruns.settings import Settings
from openruns.states import RunState, Stage, Trigger
from openruns.store import idempotency


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
            attrs.RUN_SEARCH, search_text(run_input.name, run_input.inputs, run_input.email)
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
