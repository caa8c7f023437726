"""What Temporal records of a run, read as a ``Run`` (no inputs, outputs or timeline).

Every run is a ``ProcessRunWorkflow`` whose workflow id is the run id: its search attributes
and memo (from a describe, a visibility record or its history) make the run lists show.
Reads of one run go through ``describe`` and ``run_rpc`` so that an id that is not a run,
or no workflow at all, is a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
)
from temporalio.common import SearchAttributeKey, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from openruns import search_attributes as attrs
from openruns.errors import NotFound
from openruns.models import EmailInfo, Run
from openruns.services import visibility
from openruns.settings import Settings
from openruns.states import run_state

T = TypeVar("T")
WORKFLOW_TYPE = "ProcessRunWorkflow"


_NEVER_PICKED_UP = 3  # history events of a run closed before its first task started


def from_execution(execution: WorkflowExecution, memo: dict[str, Any], settings: Settings) -> Run:
    """A run as lists show it, from a describe or a visibility record and its memo."""
    return run_record(
        execution.id,
        execution.status,
        execution.typed_search_attributes,
        execution.start_time,
        execution.close_time,
        memo,
        settings,
        execution.history_length,
    )


def run_record(
    run_id: str,
    status: WorkflowExecutionStatus | None,
    sa: TypedSearchAttributes,
    start_time: datetime,
    close_time: datetime | None,
    memo: dict[str, Any],
    settings: Settings,
    history_length: int,
) -> Run:
    """A run as lists show it, from its workflow's status, search attributes, times and memo."""
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


async def describe(client: Client, run_id: str) -> WorkflowExecutionDescription:
    """The description of the workflow ``run_id``; 404 when it is not a run."""
    description = await client.get_workflow_handle(run_id).describe()
    if description.workflow_type != WORKFLOW_TYPE:
        raise NotFound(f"run {run_id!r} not found")
    return description


async def run_rpc(run_id: str, call: Awaitable[T]) -> T:
    """Await a Temporal call about one run; "no such workflow" becomes a 404."""
    try:
        return await call
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise NotFound(f"run {run_id!r} not found") from None
        raise


def run_summary(execution: WorkflowExecution, settings: Settings, client: Client) -> Run:
    """A run as lists show it (no inputs, outputs or timeline), from a visibility record."""
    return from_execution(
        execution, visibility.list_memo(execution, client.data_converter), settings
    )
