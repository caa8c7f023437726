"""The shape of a process definition (SPEC §3), as pydantic models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

InputType = Literal["string", "number", "integer", "boolean", "object", "array", "file"]
STEP_ID_PATTERN = r"^[a-z0-9_]+$"
INPUT_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_STEPS = 200
DEFAULT_TIMEOUT_SECONDS = 3600


def _a_number(value: Any) -> Any:
    """Numbers only: pydantic's lax mode would take ``true`` as 1 and ``"60"`` as 60."""
    if isinstance(value, bool | str):
        raise ValueError(
            "must be a number, not " + ("a boolean" if isinstance(value, bool) else "a string")
        )
    return value


Int = Annotated[int, BeforeValidator(_a_number)]
Float = Annotated[float, BeforeValidator(_a_number)]


class InputSpec(BaseModel):
    """A declared input: validated (and defaulted) when a run is triggered."""

    model_config = ConfigDict(extra="forbid")

    type: InputType = "string"
    required: bool = False
    default: Any = None
    description: str | None = None
    enum: list[Any] | None = None


class RetrySpec(BaseModel):
    """Retry policy of an activity step; attempts include the first one."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: Int = Field(3, ge=1, le=100)
    initial_interval: Float = Field(1.0, gt=0, le=3600)
    backoff: Float = Field(2.0, ge=1, le=10)
    max_interval: Float = Field(60.0, gt=0, le=86400)


class Step(BaseModel):
    """One step: ``uses`` names the step type, ``with`` its (templated) arguments."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=STEP_ID_PATTERN, max_length=64)
    uses: str = Field(min_length=1, max_length=100)
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    if_: str | bool | None = Field(None, alias="if")
    retry: RetrySpec | None = None
    timeout: Float | None = Field(None, gt=0, le=86400, description="Per-attempt seconds.")
    name: str | None = Field(None, max_length=200, description="Display name.")


class Definition(BaseModel):
    """A whole process definition."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    timeout: Int = Field(DEFAULT_TIMEOUT_SECONDS, ge=1, le=366 * 86400)
    steps: list[Step] = Field(default_factory=list, max_length=MAX_STEPS)
    outputs: dict[str, Any] = Field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        """The definition as stored and sent to the workflow (aliases, no unset noise)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
