"""The schedule resource and its create/patch bodies (SPEC §7)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from openruns.definition.model import Int
from openruns.schedules.cron import check_cron, check_timezone
from openruns.states import RunState, Stage


class Overlap(StrEnum):
    """What happens when a fire comes while the previous scheduled run is still going."""

    SKIP = "skip"
    BUFFER_ONE = "buffer_one"
    ALLOW_ALL = "allow_all"


MAX_INTERVAL_SECONDS = 10 * 366 * 86_400  # longer is a typo, and past what Temporal can store


class _ScheduleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: str | None = Field(
        None,
        max_length=200,
        description="A 5-field cron expression, e.g. `0 9 * * 1-5`, or one of the macros "
        "`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.",
    )
    interval_seconds: Int | None = Field(
        None,
        ge=1,
        le=MAX_INTERVAL_SECONDS,
        description="Fire every N seconds (at most ten years).",
    )
    note: str | None = Field(None, max_length=1000)
    inputs: dict[str, Any] | list[Any] | None = Field(
        None, description="Inputs of every scheduled run: an object or `[{name, value}]`."
    )
    stage: Stage | None = Field(
        None,
        description="Optional, and `Published` if given: a schedule runs the process's "
        "published revision as it is when the schedule fires; `Draft` is refused (422).",
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: Stage | None) -> Stage | None:
        if value is Stage.DRAFT:
            raise ValueError(
                "schedules run the published revision only; start a Draft run manually or "
                "through the API (POST /v2/runs with stage Draft)"
            )
        return value


class ScheduleCreate(_ScheduleFields):
    """Give exactly one of ``cron`` and ``interval_seconds``."""

    timezone: str = Field("UTC", max_length=64, description="IANA time zone of `cron`.")
    overlap: Overlap = Overlap.SKIP
    paused: StrictBool = False

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)


class SchedulePatch(_ScheduleFields):
    """Only the fields given change. Setting ``cron`` replaces ``interval_seconds`` and back."""

    timezone: str | None = Field(None, max_length=64)
    overlap: Overlap | None = None
    paused: StrictBool | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


class ScheduleTrigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap: Overlap | None = Field(
        None, description="Overrides the schedule's overlap policy for this one fire."
    )


class ScheduleRun(BaseModel):
    """A run the schedule started, as ``recent_runs`` lists it."""

    id: str
    state: RunState
    revision: int | None = None
    created_at: datetime
    ended_at: datetime | None = None


class Schedule(BaseModel):
    """A schedule as the API shows it; every field is read back from Temporal."""

    id: str
    process_id: str
    stage: Stage = Field(
        Stage.PUBLISHED, description="Always `Published`: what every fire of a schedule runs."
    )
    cron: str | None = None
    interval_seconds: int | None = None
    timezone: str
    inputs: dict[str, Any]
    overlap: Overlap
    paused: bool
    note: str | None = None
    next_run_times: list[datetime] = Field(
        description="The next 5 fire times (UTC); empty while paused."
    )
    recent_runs: list[ScheduleRun] = Field(
        description="The latest runs it started: unfinished first, then the newest ended."
    )
    created_at: datetime | None = None
    updated_at: datetime | None = None
    temporal_ui_url: str
