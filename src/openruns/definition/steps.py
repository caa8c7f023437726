"""The catalog of step types: built-ins here, plugins register more at start-up.

A step type declares how the workflow runs it (``kind``) and a pydantic model of its
arguments, which validates ``with`` when a definition is saved (template strings are checked
when the run evaluates them) and again, rendered, when the step runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openruns.definition.io_steps import EmailArgs, FileArgs
from openruns.definition.model import RetrySpec
from openruns.states import Stage

StepKind = Literal["inline", "fail", "timer", "activity", "child"]
# How deep ``process`` steps may nest at run time: literal cycles are refused when a
# definition is saved, templated ``process_id``s are stopped here.
MAX_CALL_DEPTH = 10


class SetArgs(BaseModel):
    """``set``: any mapping; each value is evaluated and the mapping is the step's output."""

    model_config = ConfigDict(extra="allow")


class HttpArgs(BaseModel):
    """``http``: one HTTP request."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str = Field(min_length=1, max_length=8192)
    headers: dict[str, str] = Field(default_factory=dict)
    json_: Any = Field(None, alias="json")
    body: str | None = None
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds for the request.")
    ok_status: list[int] = Field(default_factory=list, description="Non-2xx codes that succeed.")

    @model_validator(mode="before")
    @classmethod
    def _upper_method(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("method"), str):
            data = {**data, "method": data["method"].upper()}
        return data

    @model_validator(mode="after")
    def _one_body(self) -> HttpArgs:
        if self.json_ is not None and self.body is not None:
            raise ValueError("give either json or body, not both")
        return self


class SleepArgs(BaseModel):
    """``sleep``: a durable timer."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=366 * 86400)


class FailArgs(BaseModel):
    """``fail``: fail the run with a message."""

    model_config = ConfigDict(extra="forbid")

    message: str = "the process failed"


class ProcessArgs(BaseModel):
    """``process``: run another process as a child run; its outputs are the step's output."""

    model_config = ConfigDict(extra="forbid")

    process_id: str = Field(min_length=1, max_length=64, description="The process to run.")
    stage: Stage = Field(Stage.PUBLISHED, description="Which revision of it to run.")
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="The child run's inputs, validated like any run's."
    )


@dataclass(frozen=True)
class StepType:
    """How one ``uses`` value is validated and executed."""

    name: str
    description: str
    args_model: type[BaseModel]
    kind: StepKind
    activity: str | None = None
    default_timeout: float = 60.0
    default_retry: RetrySpec = field(default_factory=RetrySpec)

    def args_schema(self) -> dict[str, Any]:
        return self.args_model.model_json_schema(by_alias=True)


BUILTIN_STEP_TYPES: tuple[StepType, ...] = (
    StepType("set", "Evaluate the `with` mapping; the mapping is the output.", SetArgs, "inline"),
    StepType(
        "http",
        "Send an HTTP request; non-2xx fails the step unless listed in `ok_status`.",
        HttpArgs,
        "activity",
        activity="openruns.http",
        default_timeout=60.0,
    ),
    StepType("sleep", "Wait `seconds` on a durable timer.", SleepArgs, "timer"),
    StepType("fail", "Fail the run with `message`.", FailArgs, "fail"),
    StepType(
        "file",
        "Read a stored file (`file_id`): CSV → rows, JSON → value, text → string.",
        FileArgs,
        "activity",
        activity="openruns.file",
        default_timeout=60.0,
    ),
    StepType(
        "email",
        "Send mail through the configured SMTP relay: `to`, `subject`, `text`, `html`.",
        EmailArgs,
        "activity",
        activity="openruns.email",
        default_timeout=60.0,
    ),
    StepType(
        "process",
        "Run another process as a child run (`process_id`, `stage`, `inputs`); its outputs are "
        "the step's output, its failure fails the step.",
        ProcessArgs,
        "child",
    ),
)

_REGISTRY: dict[str, StepType] = {t.name: t for t in BUILTIN_STEP_TYPES}


def register_step_type(step_type: StepType) -> None:
    """Add a step type (plugins); a name cannot be registered twice with a different type."""
    existing = _REGISTRY.get(step_type.name)
    if existing is not None and existing != step_type:
        raise ValueError(f"step type {step_type.name!r} is already registered")
    _REGISTRY[step_type.name] = step_type


def get_step_type(name: str) -> StepType | None:
    return _REGISTRY.get(name)


def step_types() -> list[StepType]:
    return sorted(_REGISTRY.values(), key=lambda t: t.name)
