"""The raw-Temporal baseline: a worker with a workflow equivalent to a one-step ``set`` process,
configured like the OpenRuns worker (same sandbox, same failure handling)."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

RAW_TASK_QUEUE = "raw-bench"


@workflow.defn(name="RawBenchWorkflow")
class RawBenchWorkflow:
    @workflow.run
    async def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"gross": inputs["amount"] * 1.2}


async def main() -> None:
    client = await Client.connect(os.environ["OPENRUNS_TEMPORAL_ADDRESS"])
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with Worker(
        client,
        task_queue=RAW_TASK_QUEUE,
        workflows=[RawBenchWorkflow],
        workflow_failure_exception_types=[Exception],
    ):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
