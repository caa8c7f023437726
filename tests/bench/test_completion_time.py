"""A throughput burst's completion time is its last workflow's close time as the server
recorded it, on the bench's perf_counter clock (real dev server)."""

from __future__ import annotations

import time
import uuid

from temporalio.client import Client

from bench.scenarios import _last_close
from tests.helpers import assert_eventually


async def test_last_close_is_the_servers_close_time_on_the_perf_counter_clock(
    client: Client,
) -> None:
    prefix = f"bench-close-{uuid.uuid4().hex[:8]}-"
    closed = []  # perf_counter after each terminate returned
    for i in range(2):
        handle = await client.start_workflow(
            "NobodyRunsThis", id=f"{prefix}{i}", task_queue=f"nobody-{uuid.uuid4()}"
        )
        await handle.terminate("closed for the test")
        closed.append(time.perf_counter())
    query = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Terminated'"
    await assert_eventually(lambda: client.count_workflows(query), lambda c: c.count == 2)

    last = await _last_close(client, query)
    # The second workflow closed after the first one's terminate returned and before its own
    # did (server timestamps have millisecond resolution, hence the slack).
    assert closed[0] - 0.005 <= last <= closed[1] + 0.005, (closed, last)
