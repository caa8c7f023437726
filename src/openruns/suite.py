"""Test cases and test runs: models, and how a run's outputs are compared with a baseline."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openruns.states import Stage


class TestCase(BaseModel):
    """A Succeeded run kept as a baseline: these inputs must give these outputs."""

    __test__ = False

    id: str
    process_id: str
    source_run_id: str
    name: str | None = None
    inputs: dict[str, Any]
    file_ids: list[str] = Field(default_factory=list)
    expected_outputs: dict[str, Any]
    compare: list[str] | None = Field(None, description="Output keys checked; None: all.")
    created_at: datetime


MAX_SUITE_PROCESSES = 50  # per test run


class TestRunCreate(BaseModel):
    __test__ = False
    model_config = ConfigDict(extra="forbid")

    process_ids: list[str] = Field(min_length=1, max_length=MAX_SUITE_PROCESSES)
    stage: Stage = Stage.DRAFT


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class DiffEntry(BaseModel):
    key: str
    expected: Any = None
    actual: Any = None
    truncated: bool = Field(
        False, description="expected/actual are the start of their JSON (DiffBudget), not the value"
    )
    missing: Literal["expected", "actual"] | None = Field(
        None, description="The side that has no such output key (its value then reads null)."
    )


class TestCaseResult(BaseModel):
    __test__ = False

    test_case_id: str
    run_id: str | None = None
    outcome: Outcome
    diff: list[DiffEntry] = Field(default_factory=list)
    error: str | None = None


class Totals(BaseModel):
    passed: int = 0
    failed: int = 0
    error: int = 0
    pending: int = Field(0, description="Cases still running (only while the test run runs).")


class TestRunState(StrEnum):
    __test__ = False

    RUNNING = "Running"
    COMPLETED = "Completed"


class TestRun(BaseModel):
    """A run of the test suite: one outcome per test case, plus totals."""

    __test__ = False

    id: str
    state: TestRunState
    stage: Stage
    process_ids: list[str]
    totals: Totals
    results: list[TestCaseResult]
    created_at: datetime | None = None
    ended_at: datetime | None = None
    temporal_ui_url: str | None = None


# ---- workflow I/O --------------------------------------------------------------------------


class SuiteProcess(BaseModel):
    """The revision a test run checks for one process, resolved when the test run starts."""

    process_id: str
    process_name: str
    revision: int
    definition: dict[str, Any]
    timeout_seconds: int


class SuiteCase(BaseModel):
    """One test case as the suite workflow runs it; ``error`` set means it cannot run."""

    test_case_id: str
    run_id: str
    process_id: str
    name: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    file_ids: list[str] = Field(default_factory=list)
    expected_outputs: dict[str, Any] = Field(default_factory=dict)
    compare: list[str] | None = None
    error: str | None = None


class TestSuiteInput(BaseModel):
    __test__ = False

    test_run_id: str
    stage: Stage
    processes: dict[str, SuiteProcess]
    cases: list[SuiteCase]


class TestSuiteResult(BaseModel):
    __test__ = False

    results: list[TestCaseResult]


def _same(expected: Any, actual: Any) -> bool:
    """JSON equality: 1 == 1.0, but True is not 1 and "1" is not 1."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _same(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    numbers = isinstance(expected, int | float) and isinstance(actual, int | float)
    return (numbers or type(expected) is type(actual)) and expected == actual


def compare_outputs(
    expected: dict[str, Any], actual: Any, keys: list[str] | None = None
) -> list[DiffEntry]:
    """The keys whose values differ; by default every key of either side (missing = null)."""
    actual = actual if isinstance(actual, dict) else {}
    if keys is None:
        keys = list(expected) + [key for key in actual if key not in expected]
    return [
        DiffEntry(
            key=key,
            expected=expected.get(key),
            actual=actual.get(key),
            missing="expected" if key not in expected else "actual" if key not in actual else None,
        )
        for key in keys
        if key not in expected or key not in actual or not _same(expected[key], actual[key])
    ]


# A test run's results travel in its memo (as each case finishes) and its result, which
# Temporal limits to 2 MiB a payload and 4 MiB a workflow task: a diff keeps the start of each
# large value's JSON, and a test run keeps DIFF_BUDGET characters of values in all.
DIFF_VALUE_LIMIT = 1_000
DIFF_BUDGET = 500_000


class DiffBudget:
    """What is left of a test run's ``DIFF_BUDGET``; ``fit`` spends from it."""

    def __init__(self, budget: int = DIFF_BUDGET) -> None:
        self.remaining = budget

    def fit(self, diff: list[DiffEntry]) -> list[DiffEntry]:
        """``diff`` with each value over ``DIFF_VALUE_LIMIT`` (or over what is left) cut."""
        kept = []
        for entry in diff:
            entry = entry.model_copy()
            for side in ("expected", "actual"):
                text = json.dumps(getattr(entry, side), sort_keys=True, default=str)
                limit = min(DIFF_VALUE_LIMIT, self.remaining)
                if len(text) > limit:
                    setattr(entry, side, f"{text[:limit]}… ({len(text):,} characters)")
                    entry.truncated = True
                self.remaining -= min(len(text), limit)
            kept.append(entry)
        return kept
