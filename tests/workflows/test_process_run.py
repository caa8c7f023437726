"""``ProcessRunWorkflow`` driven with the raw Temporal client, as the Temporal UI or CLI would."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from openruns.models import ProcessRunInput
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from workflows.process_run import ProcessRunWorkflow


def _input(definition: dict, inputs: dict | None = None) -> ProcessRunInput:
    return ProcessRunInput(
        process_id="proc-test",
        process_name="test",
        stage=Stage.DRAFT,
        revision=1,
        definition=definition,
        inputs=inputs or {},
        trigger=Trigger.API,
        name="raw run",
    )


async def _execute(client: Client, settings: Settings, run_input: ProcessRunInput | dict) -> object:
    return await client.execute_workflow(
        ProcessRunWorkflow.run,
        run_input,  # type: ignore[arg-type]
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
    assert result == {"label": "raw run#2", "stage": "Draft"}


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
