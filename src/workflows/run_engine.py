"""What ``ProcessRunWorkflow`` does: one run of one process revision (workflow ID = run ID).

Templates, ``set``, ``if`` and ``fail`` are evaluated here, in the workflow (they are pure);
``sleep`` is a durable timer; ``process`` starts a child run (see ``child_runs``); every side
effect is an activity. The step timeline is kept in
the ``steps`` memo, upserted whenever the run is about to wait, so the API can show progress
for running runs and the last known step for runs that were cancelled or timed out; a run that
fails upserts it as it ends, and a run that succeeds returns it in its result (``RunResult``).

This module is passed through the workflow sandbox (see ``worker.SANDBOX``): it holds no
module state and calls nothing non-deterministic (time, randomness and I/O all go through
``temporalio.workflow``), so it is imported once per worker instead of once per run; the
workflow class itself, in ``process_run``, stays sandboxed. The replay tests guard it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pydantic_core
from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    TimeoutType,
    is_cancelled_exception,
)
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

from openruns import search_attributes as attrs
from openruns import secrets
from openruns.definition import templates
from openruns.definition.model import Definition, RetrySpec, Step
from openruns.definition.steps import (
    MAX_CALL_DEPTH,
    FailArgs,
    ProcessArgs,
    SleepArgs,
    StepType,
    get_step_type,
)
from openruns.models import (
    TEMPORAL_BLOB_LIMIT,
    ProcessRunInput,
    ResolvedRun,
    ResolveRunInput,
    RunResult,
    StepActivityInput,
    StepRecord,
    StepState,
)
from openruns.run_actions import ArchiveSignal
from openruns.states import RunState, Stage
from workflows import child_runs

STEPS_MEMO = "steps"
# Set by Temporal on the runs a schedule starts: when the schedule meant the run to start.
SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
RESOLVE_ACTIVITY = "openruns.resolve_run"
WORKFLOW_NAME = "ProcessRunWorkflow"


class StepFailed(ApplicationError):
    """A step failed (or timed out); the run fails with the step id in its details."""

    def __init__(self, step_id: str, message: str, *, timed_out: bool = False) -> None:
        super().__init__(
            f"step '{step_id}' {'' if timed_out else 'failed: '}{message}",
            {"step": step_id},
            type="StepFailed",
            non_retryable=True,
        )


def _retry_policy(spec: RetrySpec) -> RetryPolicy:
    return RetryPolicy(
        maximum_attempts=spec.max_attempts,
        initial_interval=timedelta(seconds=spec.initial_interval),
        backoff_coefficient=spec.backoff,
        maximum_interval=timedelta(seconds=spec.max_interval),
    )


def _seconds(value: float) -> str:
    """2 → "2 s", 0.5 → "0.5 s"."""
    return f"{value:.3f}".rstrip("0").rstrip(".") + " s"


def _run_times() -> dict[str, str]:
    """``run.created_at`` (the run's start, as the API shows it) and, for a run a schedule
    started, ``run.scheduled_at``: ISO 8601 UTC strings, from history, so replay-safe."""
    info = workflow.info()
    times = {"created_at": pydantic_core.to_jsonable_python(info.workflow_start_time)}
    scheduled = info.typed_search_attributes.get(SCHEDULED_START_TIME)
    if scheduled is not None:
        times["scheduled_at"] = pydantic_core.to_jsonable_python(scheduled)
    return times


def _failure_message(error: FailureError) -> str:
    cause: BaseException | None = error
    while isinstance(cause, ActivityError | ChildWorkflowError) and cause.cause is not None:
        cause = cause.cause
    return str(getattr(cause, "message", None) or cause)


class RunEngine:
    """The state and steps of one run; ``ProcessRunWorkflow`` delegates to it."""

    def __init__(self) -> None:
        self._timeline: list[StepRecord] = []
        self._current: StepRecord | None = None
        self._running = False
        self._input: ProcessRunInput | None = None
        self._archive_version = 0
        self._step_outputs: dict[str, Any] = {}  # the templates' ``steps``
        self._secret_nonce: str | None = None
        self._secret_names: list[str] = []

    def set_archived(self, change: ArchiveSignal) -> None:
        """Tag the run as (un)archived so lists can leave it out; nothing else changes."""
        if change.version > self._archive_version:
            self._archive_version = change.version
            flag = attrs.RUN_ARCHIVED
            workflow.upsert_search_attributes(
                [flag.value_set(True) if change.archived else flag.value_unset()]
            )

    def step_outputs(self, step_id: str | None = None) -> dict[str, Any]:
        """Each finished step's output by step id (what the templates see as ``steps``), or
        only ``step_id``'s (none when it has no output)."""
        if step_id is None:
            return dict(self._step_outputs)
        found = step_id in self._step_outputs
        return {step_id: self._step_outputs[step_id]} if found else {}

    async def run(self, input: ProcessRunInput) -> RunResult:
        self._input = input
        self._started_at = workflow.now()
        templates.start_run_budget()  # one template budget for the whole run
        definition_data, inputs = input.definition, input.inputs
        revision = input.revision
        if definition_data is None:
            resolved = await self._resolve(input)
            definition_data, inputs, revision = (
                resolved.definition,
                resolved.inputs,
                resolved.revision,
            )
        try:
            definition = Definition.model_validate(definition_data)
        except ValidationError as exc:
            raise ApplicationError(
                f"the pinned definition is not valid: {exc}", non_retryable=True
            ) from None

        self._timeline = [StepRecord(id=s.id, uses=s.uses) for s in definition.steps]
        # Placeholders only: the worker puts the values in an activity step's arguments.
        secret_names = secrets.references(definition_data)
        if secret_names:
            self._secret_nonce = nonce = secrets.nonce(workflow.info().run_id)
            self._secret_names = sorted(secret_names)
            placeholders = {name: secrets.placeholder(name, nonce) for name in secret_names}
        else:
            placeholders = {}
        context: dict[str, Any] = {
            "inputs": inputs,
            "steps": self._step_outputs,
            "run": {
                "id": workflow.info().workflow_id,
                "name": input.name,
                "trigger": input.trigger,
                "process_id": input.process_id,
                "stage": input.stage,
                "revision": revision,
                "file_ids": input.file_ids,
                **_run_times(),
            },
            "secrets": placeholders,
        }
        try:
            for index, step in enumerate(definition.steps):
                await self._run_step(self._timeline[index], step, context)
            outputs = self._render_outputs(definition, context)
        except asyncio.CancelledError:
            self._close_current(StepState.CANCELLED, "the run was cancelled")
            self._publish()
            raise
        except ApplicationError as exc:
            self._publish()
            workflow.logger.info("run failed: %s", exc.message)
            raise
        except Exception as exc:  # a bug, not the process: fail the run, never loop
            self._close_current(StepState.FAILED, f"internal error: {exc}")
            self._publish()
            raise ApplicationError(
                f"internal error: {type(exc).__name__}: {exc}",
                type="InternalError",
                non_retryable=True,
            ) from exc
        result = RunResult(outputs=outputs, steps=self._timeline)
        size = len(pydantic_core.to_json(result))  # as the payload converter writes it
        if size > TEMPORAL_BLOB_LIMIT:  # Temporal would refuse the completion, again and again
            self._publish()
            raise ApplicationError(
                f"the run's outputs are {size:,} bytes as JSON, more than Temporal keeps for a "
                f"run's result ({TEMPORAL_BLOB_LIMIT:,}): output less, or store big data "
                "elsewhere (e.g. with an http step) and output a reference",
                type="OutputTooLarge",
                non_retryable=True,
            )
        workflow.logger.info("run succeeded")
        return result

    async def _resolve(self, input: ProcessRunInput) -> ResolvedRun:
        self._mark_running()
        try:
            resolved = await self._resolve_revision(input.process_id, input.stage, input.inputs)
        except ActivityError as exc:  # the run fails saying why, not "Activity task failed"
            if is_cancelled_exception(exc):
                raise asyncio.CancelledError() from exc
            cause = exc.cause
            raise ApplicationError(
                _failure_message(exc),
                type=cause.type if isinstance(cause, ApplicationError) else None,
                non_retryable=True,
            ) from None
        workflow.upsert_search_attributes([attrs.PROCESS_REVISION.value_set(resolved.revision)])
        return resolved

    async def _resolve_revision(
        self, process_id: str, stage: Stage, inputs: dict[str, Any]
    ) -> ResolvedRun:
        return await workflow.execute_activity(
            RESOLVE_ACTIVITY,
            ResolveRunInput(process_id=process_id, stage=stage, inputs=inputs),
            result_type=ResolvedRun,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            summary=f"resolve the {stage} revision of {process_id}",
        )

    def _mark_running(self) -> None:
        """Pending → Running. Commands leave the worker only when a workflow task ends, so
        upserting right before the run first waits is the same as upserting first thing — and
        a run that finishes within its first task skips an upsert nobody could observe (its
        state comes from the execution status; the API reports its start as its end)."""
        if not self._running:
            self._running = True
            workflow.upsert_search_attributes(
                [
                    attrs.RUN_STATE.value_set(RunState.RUNNING),
                    attrs.RUN_STARTED_AT.value_set(self._started_at),
                ]
            )

    def _publish(self, *, waiting: bool = False) -> None:
        """Upsert the timeline memo; ``waiting``: the run is about to wait (mark it Running)."""
        if waiting:
            self._mark_running()
        workflow.upsert_memo({STEPS_MEMO: [r.model_dump(mode="json") for r in self._timeline]})

    def _close_current(self, state: StepState, error: str | None = None) -> None:
        record = self._current
        if record is not None and record.ended_at is None:
            record.state, record.error, record.ended_at = state, error, workflow.now()

    def _fail(self, record: StepRecord, message: str) -> StepFailed:
        self._close_current(StepState.FAILED, message)
        return StepFailed(record.id, message)

    def _timed_out(self, record: StepRecord, message: str) -> StepFailed:
        """The step ran out of its time (``TimedOut``); the run fails naming it."""
        self._close_current(StepState.TIMED_OUT, message)
        return StepFailed(record.id, message, timed_out=True)

    async def _run_step(self, record: StepRecord, step: Step, context: dict[str, Any]) -> None:
        self._current = record
        record.state, record.started_at = StepState.RUNNING, workflow.now()
        try:
            if step.if_ is not None and not templates.truthy(step.if_, context):
                context["steps"][step.id] = None
                self._close_current(StepState.SKIPPED)
                return
            step_type = get_step_type(step.uses)
            if step_type is None:
                raise self._fail(record, f"step type {step.uses!r} is not installed on this worker")
            args = templates.render_value(step.with_, context)
            output = await self._execute(record, step, step_type, args)
        except templates.TemplateFailure as exc:
            raise self._fail(record, f"template error: {exc}") from None
        except (ActivityError, ChildWorkflowError) as exc:
            if is_cancelled_exception(exc):
                raise asyncio.CancelledError() from exc
            raise self._fail(record, _failure_message(exc)) from None
        context["steps"][step.id] = output
        self._close_current(StepState.SUCCEEDED)

    async def _execute(
        self, record: StepRecord, step: Step, step_type: StepType, args: dict[str, Any]
    ) -> Any:
        try:
            validated = step_type.args_model.model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'with'}: {e['msg']}" for e in exc.errors()
            )
            raise self._fail(record, f"invalid arguments: {problems}") from None

        if step_type.kind == "inline":
            return args
        if step_type.kind == "fail":
            assert isinstance(validated, FailArgs)
            raise self._fail(record, validated.message)
        if step_type.kind == "timer":
            assert isinstance(validated, SleepArgs)
            self._publish(waiting=True)
            await workflow.sleep(
                validated.seconds, summary=f"{step.id}: sleep {validated.seconds:g}s"
            )
            return {}
        if step_type.kind == "child":
            assert isinstance(validated, ProcessArgs)
            return await self._run_child(record, step, validated)
        if step_type.kind == "activity" and step_type.activity:
            return await self._run_activity(record, step, step_type, step_type.activity, args)
        raise self._fail(record, f"step type {step.uses!r} cannot run in this version")

    async def _run_activity(
        self, record: StepRecord, step: Step, step_type: StepType, name: str, args: dict[str, Any]
    ) -> Any:
        """Run the step's activity; an attempt that outlives the step's timeout is retried
        like a failure, and the last one ends the step ``TimedOut``, saying after how long."""
        timeout = step.timeout or step_type.default_timeout
        whose = "its timeout" if step.timeout else "the default step timeout"
        request_timeout = args.get("timeout")  # the http step's own: let it go off first
        if isinstance(request_timeout, int | float) and request_timeout + 5 > timeout:
            timeout, whose = float(request_timeout) + 5, "its with.timeout plus 5 s"
        retry = step.retry or step_type.default_retry
        self._publish(waiting=True)
        try:
            return await workflow.execute_activity(
                name,
                StepActivityInput(
                    run_id=workflow.info().workflow_id,
                    step_id=step.id,
                    args=args,
                    secret_nonce=self._secret_nonce,
                    secret_names=self._secret_names,
                ),
                start_to_close_timeout=timedelta(seconds=timeout),
                retry_policy=_retry_policy(retry),
                summary=f"{step.id}: {step.uses}",
            )
        except ActivityError as exc:
            cause = exc.cause
            if not (
                isinstance(cause, TemporalTimeoutError) and cause.type == TimeoutType.START_TO_CLOSE
            ):
                raise
            tried = f"; the last of {retry.max_attempts} attempts" if retry.max_attempts > 1 else ""
            raise self._timed_out(
                record, f"timed out after {_seconds(timeout)} ({whose}{tried})"
            ) from None

    async def _run_child(self, record: StepRecord, step: Step, args: ProcessArgs) -> Any:
        """Run ``args.process_id`` as a child run; its outputs are the step's output."""
        assert self._input is not None
        if self._input.depth >= MAX_CALL_DEPTH:
            raise self._fail(
                record,
                f"process calls nest deeper than {MAX_CALL_DEPTH} levels "
                "(does a process end up calling itself?)",
            )
        if self._secret_nonce and secrets.holds_placeholder(args.inputs, self._secret_nonce):
            raise self._fail(
                record,
                "a child run does not get its parent's secrets: name them in the child "
                "process's definition (its inputs hold a secret of this run)",
            )
        self._publish(waiting=True)
        resolved = await self._resolve_revision(args.process_id, args.stage, args.inputs)
        handle = await child_runs.start_child(WORKFLOW_NAME, self._input, step.id, args, resolved)
        record.child_run_id = handle.id
        self._publish(waiting=True)
        try:
            return (await handle).outputs
        except ChildWorkflowError as exc:
            outcome = child_runs.outcome(exc, _failure_message(exc))
            if outcome is None:
                raise  # the parent itself is being cancelled: it ends Cancelled
            raise self._fail(record, f"child run {handle.id} {outcome}") from None

    def _render_outputs(self, definition: Definition, context: dict[str, Any]) -> dict[str, Any]:
        outputs = {}
        for key, value in definition.outputs.items():
            try:
                outputs[key] = templates.render_value(value, context)
                if self._secret_nonce:  # a run's outputs name a secret, never carry one
                    outputs[key] = secrets.deactivate(outputs[key])
            except templates.TemplateFailure as exc:
                raise ApplicationError(
                    f"output '{key}' failed: template error: {exc}",
                    {"output": key},
                    type="OutputFailed",
                    non_retryable=True,
                ) from None
        return outputs
