"""The run and process models every component shares: API resources and workflow I/O."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from openruns.states import RunState, Stage, Trigger


class StepState(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    CANCELLED = "Cancelled"
    TIMED_OUT = "TimedOut"


class StepRecord(BaseModel):
    """One step in a run's timeline."""

    id: str
    uses: str
    state: StepState = StepState.PENDING
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    child_run_id: str | None = Field(None, description="The run a `process` step started.")


# The largest payload a Temporal server takes by default (its dynamic config's
# ``limit.blobSize.error``): a workflow's input, or its result. A server configured lower
# refuses sooner.
TEMPORAL_BLOB_LIMIT = 2 * 1024 * 1024


class RunResult(BaseModel):
    """What ``ProcessRunWorkflow`` returns when a run succeeds: its outputs and its final step
    timeline. The timeline travels in the result rather than in a last memo upsert, which would
    cost Temporal one more command, event and visibility update per run."""

    outputs: dict[str, Any]
    steps: list[StepRecord]


# The query ``ProcessRunWorkflow`` answers with its steps' outputs (``StepOutputs.steps``).
STEP_OUTPUTS_QUERY = "step_outputs"


class StepOutputs(BaseModel):
    """What each step of a run has output so far, read from the run itself."""

    run_id: str
    steps: dict[str, Any] = Field(
        description=(
            "Each step that has finished, by id: its output, which is what `steps.<id>` is to "
            "the templates after it (null for a skipped step). A step that failed, is running "
            "or was not reached is absent."
        )
    )


class EmailInfo(BaseModel):
    """Where an email-triggered run came from."""

    sender: str | None = None
    subject: str | None = None
    message_id: str | None = None


class ProcessRunInput(BaseModel):
    """Input of ``ProcessRunWorkflow``: everything a run needs, pinned at start.

    ``definition`` and ``revision`` are None for runs started by a Temporal Schedule: those
    resolve the published revision (and validate ``inputs``) when the schedule fires.
    """

    process_id: str
    process_name: str
    stage: Stage
    revision: int | None = None
    definition: dict[str, Any] | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    trigger: Trigger
    name: str
    file_ids: list[str] = Field(default_factory=list)
    rerun_of: str | None = None
    schedule_id: str | None = None
    parent_run_id: str | None = None
    test_run_id: str | None = None
    email: EmailInfo | None = None
    depth: int = Field(0, description="How many `process` steps deep this run is (root: 0).")


class StepActivityInput(BaseModel):
    """What an activity step receives: rendered arguments plus where it runs."""

    run_id: str
    step_id: str
    args: dict[str, Any]
    # Set when the run's templates use secrets: the nonce of the placeholders the worker
    # replaces in ``args`` (``openruns.secrets``).
    secret_nonce: str | None = None
    secret_names: list[str] = Field(default_factory=list)  # the secrets the definition names


class ResolveRunInput(BaseModel):
    process_id: str
    stage: Stage
    inputs: dict[str, Any] = Field(default_factory=dict)


class ResolvedRun(BaseModel):
    revision: int
    process_name: str | None = None
    definition: dict[str, Any]
    inputs: dict[str, Any]


# ---- API resources -------------------------------------------------------------------------


class RunError(BaseModel):
    message: str
    step: str | None = None
    type: str | None = None


class Run(BaseModel):
    """A run as the API shows it. ``state`` always comes from Temporal."""

    id: str
    name: str | None = None
    process_id: str | None = None
    stage: Stage | None = None
    revision: int | None = None
    state: RunState
    trigger: Trigger | None = None
    inputs: dict[str, Any] | None = None
    outputs: Any = None
    error: RunError | None = Field(
        None,
        description="Why the run did not succeed; in run details only (`GET /v2/runs/{run_id}`): "
        "`null` in lists (`GET /v2/runs`), even for a Failed run.",
    )
    created_at: datetime = Field(
        description="When Temporal recorded the run's start (its workflow's start time). The "
        "answer to `POST /v2/runs` without `wait` gives the API's clock as it started the run, "
        "a few milliseconds later."
    )
    started_at: datetime | None = Field(
        None,
        description="When a worker picked the run up (Pending → Running); for a run that "
        "finished within its first workflow task, its `ended_at`.",
    )
    ended_at: datetime | None = Field(None, description="When the run reached a final state.")
    archived: bool = False
    archived_at: datetime | None = None
    rerun_of: str | None = None
    schedule_id: str | None = None
    parent_run_id: str | None = None
    file_ids: list[str] = Field(default_factory=list)
    email: EmailInfo | None = None
    temporal_ui_url: str
    steps: list[StepRecord] | None = Field(
        None, description="The step timeline; in run details only (not in lists)."
    )


class Process(BaseModel):
    id: str
    name: str
    description: str | None = None
    stage: Stage
    draft_revision: int
    published_revision: int | None = None
    email_address: str | None = None
    definition: dict[str, Any] = Field(
        description="The draft revision's definition (revision `draft_revision`); any "
        "revision's, the published one's too, is at "
        "`GET /v2/processes/{process_id}/revisions/{revision}`."
    )
    created_at: datetime
    updated_at: datetime


class ProcessRevision(BaseModel):
    """One immutable revision of a process's definition."""

    process_id: str
    revision: int
    draft: bool = Field(description="It is the process's draft revision.")
    published: bool = Field(description="It is the process's published revision.")
    definition: dict[str, Any] | None = Field(
        None,
        description="In `GET /v2/processes/{process_id}/revisions/{revision}` only (not in lists).",
    )
    created_at: datetime


# Names are shown in lists and logs: no control characters (PostgreSQL cannot store NUL).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL cannot store NUL in text (SQLite can): neither takes it


class ProcessCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    description: str | None = Field(None, max_length=10_000, pattern=NO_NUL)
    definition: dict[str, Any] | str = Field(description="An object, or YAML/JSON text.")


class DraftSave(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] | str
    base_revision: int | None = Field(
        None, description="Refuse (409) unless the draft is still at this revision."
    )


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    process_id: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)
    stage: Stage = Stage.PUBLISHED
    name: str | None = Field(None, max_length=200, pattern=PRINTABLE)
    inputs: dict[str, Any] | list[Any] | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=100)
    trigger: Literal["manual", "api"] = "api"


class StoredFile(BaseModel):
    """A stored file: metadata only; the bytes are at ``GET /v2/files/{id}/content``."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class EmailPermission(StrEnum):
    ANYONE = "anyone"
    MEMBERS = "members"  # sender domain in OPENRUNS_EMAIL_MEMBER_DOMAINS
    RESTRICTED = "restricted"  # only allowed_senders


class EmailTrigger(BaseModel):
    """A process's email trigger: its address and who may start runs by mail."""

    process_id: str
    address: str
    enabled: bool
    permission: EmailPermission
    allowed_senders: list[str]
    stage: Stage
    updated_at: datetime


class EmailTriggerUpdate(BaseModel):
    """``PUT …/email-trigger``: fields left out keep their current value."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool | None = None
    permission: EmailPermission | None = None
    allowed_senders: list[str] | None = Field(
        None,
        max_length=1000,
        description="Addresses, or `@domain` for every address of a domain (restricted).",
    )
    stage: Stage | None = None


class StepTypeInfo(BaseModel):
    """A step type clients can offer: what ``uses`` accepts and the JSON schema of ``with``."""

    name: str
    description: str
    kind: str
    plugin: str | None = Field(None, description="The plugin module; null for built-ins.")
    args_schema: dict[str, Any]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    continuation_token: str | None = None
