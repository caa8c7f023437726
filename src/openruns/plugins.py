"""Python plugins: the team's own functions as step types.

A plugin module decorates functions with :func:`step`; a component loads the modules named in
``OPENRUNS_PLUGINS`` and those of the ``openruns.steps`` entry-point group (each entry point
names a module, or one decorated function). The API only uses a plugin's argument model, to
validate definitions when they are saved; the worker runs the function as the activity
``plugin.<name>``::

    from pydantic import BaseModel
    from openruns.plugins import step

    class Args(BaseModel):
        text: str

    @step("shout", args=Args, description="Upper-case `text`.", timeout=10)
    def shout(args: Args) -> dict:
        return {"text": args.text.upper()}
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from openruns.definition.model import RetrySpec
from openruns.definition.steps import StepType, register_step_type

ENTRY_POINT_GROUP = "openruns.steps"
ACTIVITY_PREFIX = "plugin."
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_MARK = "__openruns_step__"

F = TypeVar("F", bound=Callable[..., Any])


class PluginError(Exception):
    """A plugin that cannot be loaded; the component refuses to start."""


class StepFailure(ApplicationError):
    """Raise from a plugin step to fail it at once, without retries, with ``message``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="StepFailure", non_retryable=True)


@dataclass(frozen=True)
class StepContext:
    """Where a plugin step runs: handy for idempotency keys and logs."""

    run_id: str
    step_id: str
    attempt: int


@dataclass(frozen=True)
class PluginStep:
    """A decorated function and the step type it provides."""

    step_type: StepType
    function: Callable[..., Any]
    module: str
    wants_context: bool


def step(
    name: str,
    *,
    args: type[BaseModel],
    description: str | None = None,
    timeout: float = 60.0,
    retry: RetrySpec | Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """Declare ``function(args)`` or ``function(args, context)`` as the step type ``name``.

    ``args`` validates ``with``; ``timeout`` (seconds per attempt) and ``retry`` are the
    defaults a definition's ``timeout`` and ``retry`` override. The function may be sync (it
    runs in a thread) or async, and returns a JSON-able value: the step's output.
    """
    if not _NAME.match(name):
        raise ValueError(f"plugin step name {name!r} must match {_NAME.pattern}")
    if not (isinstance(args, type) and issubclass(args, BaseModel)):
        raise TypeError(f"plugin step {name!r}: args must be a pydantic model class")
    retry_spec = RetrySpec.model_validate(retry or {})

    def decorate(function: F) -> F:
        positional = [
            p
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if len(positional) not in (1, 2):
            raise TypeError(f"plugin step {name!r}: expected function(args[, context])")
        doc = (inspect.getdoc(function) or "").strip().splitlines()
        step_type = StepType(
            name=name,
            description=description or (doc[0] if doc else name),
            args_model=args,
            kind="activity",
            activity=ACTIVITY_PREFIX + name,
            default_timeout=timeout,
            default_retry=retry_spec,
        )
        plugin = PluginStep(step_type, function, function.__module__, len(positional) == 2)
        setattr(function, _MARK, plugin)
        return function

    return decorate


_LOADED: dict[str, PluginStep] = {}


def _steps_in(obj: object) -> list[PluginStep]:
    found = getattr(obj, _MARK, None)
    if isinstance(found, PluginStep):
        return [found]
    if isinstance(obj, ModuleType):
        marks = (getattr(value, _MARK, None) for value in vars(obj).values())
        return [mark for mark in marks if isinstance(mark, PluginStep)]
    return []


def _register(source: str, found: list[PluginStep]) -> None:
    if not found:
        raise PluginError(
            f"plugin {source} defines no steps (decorate functions with @openruns.plugins.step)"
        )
    for plugin in found:
        try:
            register_step_type(plugin.step_type)
        except ValueError as exc:
            raise PluginError(f"plugin {source}: {exc}") from None
        _LOADED[plugin.step_type.name] = plugin


def _import(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except Exception as exc:
        raise PluginError(
            f"plugin module {module!r} (OPENRUNS_PLUGINS) could not be imported: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _load_entry_point(entry_point: EntryPoint) -> object:
    try:
        return entry_point.load()
    except Exception as exc:
        raise PluginError(
            f"plugin entry point {entry_point.name!r} = {entry_point.value!r} "
            f"({ENTRY_POINT_GROUP}) could not be loaded: {type(exc).__name__}: {exc}"
        ) from exc


def load_plugins(modules: Iterable[str]) -> list[PluginStep]:
    """Import ``modules`` and the entry-point plugins, and register their steps (idempotent)."""
    for module in modules:
        _register(f"module {module!r}", _steps_in(_import(module)))
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        loaded = _load_entry_point(entry_point)
        _register(f"entry point {entry_point.name!r}", _steps_in(loaded))
    return loaded_plugins()


def loaded_plugins() -> list[PluginStep]:
    return sorted(_LOADED.values(), key=lambda plugin: plugin.step_type.name)


def plugin_module(step_name: str) -> str | None:
    """The module a plugin step comes from; None for built-ins."""
    plugin = _LOADED.get(step_name)
    return plugin.module if plugin else None
