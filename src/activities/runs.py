"""Activities that read the metadata store on behalf of a run."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from openruns.definition.inputs import resolve_inputs
from openruns.errors import OpenRunsError
from openruns.models import ResolvedRun, ResolveRunInput
from openruns.services.processes import load_definition, revision_for_stage
from openruns.store import Database
from openruns.store.processes import get_process


class RunActivities:
    def __init__(self, database: Database) -> None:
        self._database = database

    @activity.defn(name="openruns.resolve_run")
    async def resolve_run(self, request: ResolveRunInput) -> ResolvedRun:
        """Pin the revision a scheduled or child run executes, and validate its inputs."""
        try:
            async with self._database.session() as session:
                revision = await revision_for_stage(session, request.process_id, request.stage)
                process = await get_process(session, request.process_id)
            definition = load_definition(revision)  # validated when it was saved
            inputs = resolve_inputs(definition, request.inputs)
        except OpenRunsError as exc:
            detail = "; ".join(f"{d['path']}: {d['message']}" for d in exc.details)
            raise ApplicationError(
                f"{exc.message}{': ' + detail if detail else ''}",
                type=type(exc).__name__,  # InvalidInput, NotFound, Conflict
                non_retryable=True,
            ) from None
        return ResolvedRun(
            revision=revision.revision,
            process_name=process.name,
            definition=revision.definition,
            inputs=inputs,
        )
