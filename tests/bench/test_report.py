"""docs/benchmarks.md's generated block: ratios, targets and the CPU-per-run table must say
what was measured (a wrong "met" or a wrong difference would misreport the benchmark)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.report import render
from bench.scenarios import Figure, Results, _cpu_per_run, time_split


def _render(results: Results) -> str:
    return render(results, {"cpu": "test"}, {"openruns": "test"}, argparse.Namespace(quick=True), 1)


def test_rates_compare_medians_and_judge_the_target() -> None:
    slow = Figure("starts/s", "runs/s", [70, 75, 80], [100, 100, 100], True, "≥ 0.8× raw")
    fast = Figure("completions/s", "runs/s", [90, 85, 95], [100, 100, 100], True, "≥ 0.8× raw")
    text = _render(Results(figures=[slow, fast]))
    assert "| starts/s | runs/s | 75.0 | 100.0 | 0.75× | ≥ 0.8× raw | no |" in text
    assert "| completions/s | runs/s | 90.0 | 100.0 | 0.90× | ≥ 0.8× raw | yes |" in text


def test_paired_rates_take_the_median_of_the_rounds_ratios() -> None:
    # The machine's speed changed between rounds: the medians (70 vs 100) would say 0.70×,
    # while two of three rounds put OpenRuns at 0.9× of the raw burst beside it.
    varying = Figure(
        "starts/s", "runs/s", [90, 54, 70], [100, 60, 140], True, "≥ 0.8× raw", paired=True
    )
    assert [round(r, 2) for r in varying.round_ratios] == [0.9, 0.9, 0.5]
    text = _render(Results(figures=[varying]))
    assert (
        "| starts/s | runs/s | 70.0 | 100.0 | 0.90× | ≥ 0.8× raw (rounds: 0.90×, 0.90×, 0.50×) | yes |"
        in text
    )


def test_cpu_per_run_is_split_by_process_with_the_difference_to_raw() -> None:
    before = {"temporal": 10.0, "worker": 5.0, "api": 2.0, "raw-worker": 1.0, "load generator": 0}
    after_ours = before | {"temporal": 12.0, "worker": 6.0, "api": 3.0, "load generator": 0.5}
    after_raw = before | {"temporal": 11.5, "raw-worker": 1.8, "load generator": 0.6}
    ours = _cpu_per_run("OpenRuns", before, after_ours, 500)
    raw = _cpu_per_run("raw", before, after_raw, 500)
    assert ours == {
        "Temporal server": 4.0,
        "worker": 2.0,
        "API": 2.0,
        "load generator": 1.0,
        "total": 9.0,
    }
    assert raw == {"Temporal server": 3.0, "worker": 1.6, "load generator": 1.2, "total": 5.8}

    text = _render(Results(cpu={"OpenRuns": ours, "raw": raw}))
    assert "| Temporal server | 4.00 | 3.00 | +1.00 |" in text
    assert "| API | 2.00 | — | +2.00 |" in text
    assert "| load generator | 1.00 | 1.20 | -0.20 |" in text
    assert "| **total** | 9.00 | 5.80 | +3.20 |" in text


def test_a_latency_run_is_split_at_its_history_events() -> None:
    def event(kind: EventType.ValueType, ms: int) -> HistoryEvent:
        stamp = Timestamp()
        stamp.FromDatetime(datetime.fromtimestamp(1_700_000_000 + ms / 1000, UTC))
        return HistoryEvent(event_type=kind, event_time=stamp)

    events = [
        event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 2),
        event(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 2),
        event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 5),  # not the task's start
        event(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, 30),
        event(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 42),
        event(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, 42),
        event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, 43),
    ]
    split = time_split(events, sent=1_700_000_000.0, answered=1_700_000_000.050)
    assert {name: round(ms, 3) for name, ms in split.items()} == {
        "request → started": 2,
        "started → first task": 28,
        "first task": 12,
        "task → closed": 1,
        "closed → answer": 7,
    }

    text = _render(Results(latency_split={"OpenRuns": split, "raw": split | {"first task": 10}}))
    assert "| first task | 12.0 | 10.0 | +2.0 |" in text
    assert "| closed → answer | 7.0 | 7.0 | +0.0 |" in text
