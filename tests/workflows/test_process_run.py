"""``ProcessRunWorkflow`` driven with the raw Temporal client, as the Temporal UI or CLI would."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from openruns.models import ProcessRunInput, RunResult, StepState
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from workflows.process_run import ProcessRunWorkflow


def _input(definition: dict[str, Any], inputs: dict[str, Any] | None = None) -> ProcessRunInput:
    return ProcessRunInput(
        process_id=f"proc-{uuid.uuid4().hex}",
        process_name="test",
        stage=Stage.DRAFT,
        revision=1,
        definition=definition,
        inputs=inputs or {},
        trigger=Trigger.API,
        name="raw run",
    )


async def _execute(
    client: Client, settings: Settings, run_input: ProcessRunInput | dict[str, Any]
) -> RunResult:
    return await client.execute_workflow(
        ProcessRunWorkflow.run,
        args=[run_input],  # untyped, as a raw client may send anything (a dict too)
        id=f"run-{uuid.uuid4()}",
        task_queue=settings.task_queue,
        execution_timeout=timedelta(seconds=20),
    )


async def test_templates_see_run_context_and_previous_steps(
    client: Client, settings: Settings, worker: Worker
) -> None:
    definition = {
        "steps": [
            {"id": "a", "uses": "set", "with": {"n": "{{ inputs.n + 1 }}"}},
            {"id": "b", "uses": "set", "with": {"label": "{{ run.name }}#{{ steps.a.n }}"}},
        ],
        "outputs": {"label": "{{ steps.b.label }}", "stage": "{{ run.stage }}"},
    }
    result = await _execute(client, settings, _input(definition, {"n": 1}))
    assert isinstance(result, RunResult)
    assert result.outputs == {"label": "raw run#2", "stage": "Draft"}
    assert [(s.id, s.state) for s in result.steps] == [
        ("a", StepState.SUCCEEDED),
        ("b", StepState.SUCCEEDED),
    ]


async def test_runtime_template_error_fails_the_step(
    client: Client, settings: Settings, worker: Worker
) -> None:
    definition = {"steps": [{"id": "a", "uses": "set", "with": {"x": "{{ inputs.nope.deeper }}"}}]}
    with pytest.raises(WorkflowFailureError) as info:
        await _execute(client, settings, _input(definition))
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "StepFailed" and cause.details == ({"step": "a"},)
    assert "template error" in cause.message


async def test_undecodable_input_fails_instead_of_looping(
    client: Client, settings: Settings, worker: Worker
) -> None:
    with pytest.raises(WorkflowFailureError):
        await _execute(client, settings, {"not": "a run input"})


async def test_invalid_templated_argument_fails_the_step(
    client: Client, settings: Settings, worker: Worker
) -> None:
    definition = {"steps": [{"id": "s", "uses": "sleep", "with": {"seconds": "{{ 'soon' }}"}}]}
    with pytest.raises(WorkflowFailureError) as info:
        await _execute(client, settings, _input(definition))
    assert "invalid arguments: seconds" in str(info.value.cause)


def _memo_upserts(history: WorkflowHistory) -> int:
    kind = EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED
    return sum(1 for event in history.events if event.event_type == kind)


async def test_a_succeeded_run_returns_its_timeline_and_a_failed_run_upserts_it(
    client: Client, settings: Settings, worker: Worker
) -> None:
    """A succeeded run's final timeline travels in its result, so a run that finishes within
    its first task sends no memo upsert (one command, event and visibility update fewer per
    run); a failed run has no result and keeps its timeline in the memo."""
    ok: dict[str, Any] = {
        "steps": [{"id": "a", "uses": "set", "with": {"x": 1}}],
        "outputs": {"x": "{{ 1 }}"},
    }
    bad: dict[str, Any] = {"steps": [{"id": "a", "uses": "fail", "with": {"message": "no"}}]}
    histories = {}
    for name, definition in {"ok": ok, "bad": bad}.items():
        handle = await client.start_workflow(
            ProcessRunWorkflow.run,
            _input(definition),
            id=f"run-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        histories[name] = await handle.fetch_history()
    assert _memo_upserts(histories["ok"]) == 0
    assert _memo_upserts(histories["bad"]) == 1
    memo = await (await client.get_workflow_handle(histories["bad"].workflow_id).describe()).memo()
    assert [(s["id"], s["state"]) for s in memo["steps"]] == [("a", "Failed")]
