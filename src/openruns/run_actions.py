"""Models of run management: bulk actions on runs and the archive filter of run lists."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from openruns.models import Run
from openruns.states import Stage
from openruns.suite import TestCase

MAX_ACTION_RUNS = 500


class RunAction(StrEnum):
    RERUN = "rerun"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    ADD_TEST_CASE = "add_test_case"
    CANCEL = "cancel"


class ArchivedFilter(StrEnum):
    """Which runs a list shows: not archived (the default), archived only, or both."""

    FALSE = "false"
    TRUE = "true"
    ALL = "all"


class RunActionsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: RunAction
    run_ids: list[str] = Field(min_length=1, max_length=MAX_ACTION_RUNS)
    stage: Stage | None = Field(
        None,
        description="rerun only: run the process's current Draft or Published revision with "
        "the original's inputs and files, instead of the revision the original ran (default).",
    )
    compare: list[str] | None = Field(
        None,
        min_length=1,  # an empty list would check nothing: a case that always passes
        max_length=100,
        description="add_test_case only: the output keys the test case checks (default all; "
        "leave it out rather than give an empty list).",
    )


class RunActionResult(BaseModel):
    """The outcome for one run; one bad id never fails the others."""

    run_id: str
    ok: bool
    error: str | None = None
    status: int = Field(200, description="The HTTP status this run's outcome corresponds to.")
    run: Run | None = Field(None, description="The run after the action (rerun: the new run).")
    test_case: TestCase | None = None


class RunActionsResponse(BaseModel):
    results: list[RunActionResult]


class ArchiveSignal(BaseModel):
    """Sent to a running run when it is archived or unarchived; the newest version wins."""

    archived: bool
    version: int


ARCHIVE_SIGNAL = "openruns.set_archived"
