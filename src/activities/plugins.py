"""Plugin steps as activities: one ``plugin.<name>`` activity per loaded plugin step.

The activity validates the rendered arguments with the plugin's model (the workflow checked
them already; a worker with a newer plugin may disagree, and then the step fails instead of
retrying), calls the function with the parsed model, and returns its output as JSON values.
Exceptions are retried per the step's retry policy; ``StepFailure`` fails the step at once.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python
from temporalio import activity
from temporalio.exceptions import ApplicationError

from openruns.models import StepActivityInput
from openruns.plugins import PluginStep, StepContext, loaded_plugins


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'with'}: {e['msg']}" for e in exc.errors())


async def _call(plugin: PluginStep, request: StepActivityInput) -> Any:
    try:
        args = plugin.step_type.args_model.model_validate(request.args)
    except ValidationError as exc:
        raise ApplicationError(
            f"invalid arguments: {_problems(exc)}", type="InvalidArguments", non_retryable=True
        ) from None
    call_args: list[Any] = [args]
    if plugin.wants_context:
        info = activity.info()
        call_args.append(StepContext(request.run_id, request.step_id, info.attempt))
    if inspect.iscoroutinefunction(plugin.function):
        result = await plugin.function(*call_args)
    else:
        result = await asyncio.to_thread(plugin.function, *call_args)
    try:
        return to_jsonable_python(result)
    except PydanticSerializationError as exc:
        raise ApplicationError(
            f"the plugin returned a value that is not JSON: {exc}",
            type="InvalidOutput",
            non_retryable=True,
        ) from None


def plugin_activity(plugin: PluginStep) -> Callable[..., Any]:
    """The activity that runs ``plugin``, named like its step type's ``activity``."""

    async def run_plugin_step(request: StepActivityInput) -> Any:
        return await _call(plugin, request)

    run_plugin_step.__doc__ = plugin.step_type.description
    return activity.defn(name=plugin.step_type.activity)(run_plugin_step)


def plugin_activities() -> list[Callable[..., Any]]:
    """One activity per plugin step loaded in this process."""
    return [plugin_activity(plugin) for plugin in loaded_plugins()]
