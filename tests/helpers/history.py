"""What a run's Temporal history says about its activities (attempts, retries)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client


async def activity_attempts(client: Client, run_id: str) -> list[int]:
    """The attempt number of each activity the run started, in order. Temporal writes an
    activity's ActivityTaskStarted event once, for the attempt that ended it: a step retried
    twice shows attempt 3, a step tried once shows 1."""
    return [
        event.activity_task_started_event_attributes.attempt
        async for event in client.get_workflow_handle(run_id).fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
