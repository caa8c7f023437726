"""A run's step outputs, read from the run itself with a Temporal query.

Nothing stores them on the way: the run holds them (the templates' ``steps``), so reading them
costs the run nothing. A running run answers from the worker that has it in memory; a finished
one is replayed from its history on a worker, which therefore must be running. A Pending run
has no outputs yet and is answered without asking any worker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from openruns.errors import Unavailable, WorkerFailed
from openruns.models import STEP_OUTPUTS_QUERY, StepOutputs
from openruns.services.run_records import describe, from_execution, run_rpc
from openruns.settings import Settings
from openruns.states import RunState

# How long a worker has to answer; a finished run is replayed first (milliseconds for most).
QUERY_TIMEOUT = timedelta(seconds=5)


async def step_outputs(
    client: Client, settings: Settings, run_id: str, step_id: str | None = None
) -> StepOutputs:
    """Each finished step's output, or only ``step_id``'s; 503 when no worker answers, 502
    when one fails to."""
    description = await run_rpc(run_id, describe(client, run_id))
    run = from_execution(description, dict(await description.memo()), settings)
    if run.state == RunState.PENDING:  # no worker has taken it: no step has run
        return StepOutputs(run_id=run_id, steps={})
    query = client.get_workflow_handle(run_id).query(
        STEP_OUTPUTS_QUERY, step_id, result_type=dict[str, Any], rpc_timeout=QUERY_TIMEOUT
    )
    try:
        steps = await run_rpc(run_id, query)
    except WorkflowQueryFailedError as exc:  # the worker cannot replay the run, say
        if "too large" in str(exc):  # the worker could not send its answer (gRPC's 4 MiB)
            raise WorkerFailed(
                f"the step outputs of run {run_id} are too large to send in one answer "
                f"({exc}): read them one step at a time (?step=ID)"
            ) from None
        message = f"the worker could not read the step outputs of run {run_id}: {exc}"
        raise WorkerFailed(message) from None
    except RPCError as exc:
        if run.state.is_final and exc.status == RPCStatusCode.FAILED_PRECONDITION:
            return StepOutputs(run_id=run_id, steps={})  # it ended before any worker took it
        if exc.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise  # the SDK reports its own timeout as CANCELLED
        raise Unavailable(
            f"no worker answered within {QUERY_TIMEOUT.seconds} s: a run's step outputs are "
            "read from the run by a worker on its task queue (is `openruns worker` running?)"
        ) from None
    return StepOutputs(run_id=run_id, steps=steps)
