"""Visibility pages, decoded for what a run list reads.

The SDK's ``list_workflows`` decodes every search attribute of every execution twice (the
typed set and the deprecated untyped dict), the run's search text and Temporal's own
``BuildIds`` included: 5.2 ms of the API's CPU for a page of 50 runs (measured), a fifth of
a listing. ``page`` asks Temporal the same question and decodes, once, the attributes a run
record reads; ``list_memo`` decodes the memo fields a list item shows (not the step timeline).
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from temporalio.api.common.v1 import SearchAttributes
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.converter import DataConverter, decode_typed_search_attributes

from openruns import search_attributes as attrs

log = logging.getLogger(__name__)

# What a run record reads: every OpenRuns attribute but the search text (only queries use it).
RECORD_ATTRIBUTES = frozenset(key.name for key in attrs.ALL if key != attrs.RUN_SEARCH)
LIST_MEMO_KEYS = ("name", "email")
_lean = True  # until this SDK's WorkflowExecution turns out to take other fields


async def page(
    client: Client, query: str, size: int, token: bytes | None = None
) -> tuple[list[WorkflowExecution], bytes | None]:
    """One page of ``query`` and the token for the next (None on the last page)."""
    response = await client.workflow_service.list_workflow_executions(
        ListWorkflowExecutionsRequest(
            namespace=client.namespace,
            page_size=size,
            next_page_token=token or b"",
            query=query,
        ),
        retry=True,
    )
    executions = [execution(info, client) for info in response.executions]
    return executions, response.next_page_token or None


def execution(info: WorkflowExecutionInfo, client: Client) -> WorkflowExecution:
    """``info`` as the SDK's ``WorkflowExecution``, with ``RECORD_ATTRIBUTES`` decoded as its
    typed search attributes and no untyped copy."""
    global _lean
    if _lean:
        try:
            return _lean_execution(info, client.namespace, client.data_converter)
        except TypeError:  # a newer SDK whose WorkflowExecution has other fields: its own way
            log.warning("decoding visibility records with the SDK (slower)", exc_info=True)
            _lean = False
    return WorkflowExecution._from_raw_info(info, client.namespace, client.data_converter)


def _lean_execution(
    info: WorkflowExecutionInfo, namespace: str, converter: DataConverter
) -> WorkflowExecution:
    fields = info.search_attributes.indexed_fields
    wanted = SearchAttributes(
        indexed_fields={name: fields[name] for name in fields if name in RECORD_ATTRIBUTES}
    )
    has_parent, has_root = info.HasField("parent_execution"), info.HasField("root_execution")
    return WorkflowExecution(
        close_time=info.close_time.ToDatetime(UTC) if info.HasField("close_time") else None,
        execution_time=(
            info.execution_time.ToDatetime(UTC) if info.HasField("execution_time") else None
        ),
        history_length=info.history_length,
        id=info.execution.workflow_id,
        namespace=namespace,
        parent_id=info.parent_execution.workflow_id if has_parent else None,
        parent_run_id=info.parent_execution.run_id if has_parent else None,
        root_id=info.root_execution.workflow_id if has_root else None,
        root_run_id=info.root_execution.run_id if has_root else None,
        raw_info=info,
        run_id=info.execution.run_id,
        search_attributes={},
        start_time=info.start_time.ToDatetime(UTC),
        status=WorkflowExecutionStatus(info.status) if info.status else None,
        task_queue=info.task_queue,
        typed_search_attributes=decode_typed_search_attributes(wanted),
        workflow_type=info.type.name,
        _context_free_data_converter=converter,
    )


def list_memo(execution: WorkflowExecution, converter: DataConverter) -> dict[str, Any]:
    """The memo fields a list item shows; the step timeline is left undecoded."""
    fields = execution.raw_info.memo.fields
    return {
        key: converter.payload_converter.from_payload(fields[key])
        for key in LIST_MEMO_KEYS
        if key in fields
    }
