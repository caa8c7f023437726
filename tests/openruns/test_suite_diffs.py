"""A test run's diffs fit Temporal's limits: large values keep the start of their JSON, and a
test run keeps a bounded amount of diff values in all."""

from __future__ import annotations

from openruns.suite import DIFF_VALUE_LIMIT, DiffBudget, DiffEntry


def test_small_values_are_kept_whole() -> None:
    entry = DiffEntry(key="total", expected={"a": [1, 2]}, actual=None)
    assert DiffBudget().fit([entry]) == [entry]


def test_a_large_value_keeps_the_start_of_its_json() -> None:
    [entry] = DiffBudget().fit([DiffEntry(key="big", expected="x" * 5000, actual=3)])
    assert entry.truncated and entry.actual == 3
    assert entry.expected == '"' + "x" * (DIFF_VALUE_LIMIT - 1) + "… (5,002 characters)"


def test_the_budget_is_shared_by_every_case_of_a_run() -> None:
    budget = DiffBudget(budget=1500)
    [first] = budget.fit([DiffEntry(key="a", expected="x" * 2000, actual="y" * 2000)])
    [later] = budget.fit([DiffEntry(key="b", expected="small", actual="other")])
    assert first.truncated and first.expected.startswith('"' + "x" * 999 + "…")
    assert first.actual.startswith('"' + "y" * 499 + "…")  # what was left of the budget
    assert later.truncated and later.expected == "… (7 characters)" == later.actual
