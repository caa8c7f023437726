"""The scenarios: each measures OpenRuns and the raw Temporal client in the same run."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench.http import Api
from bench.raw_worker import RAW_TASK_QUEUE, RawBenchWorkflow
from bench.smtp import build_messages, send_all
from bench.stack import cpu_seconds
from openruns.models import ProcessRunInput
from openruns.services.run_start import start_options
from openruns.states import Stage, Trigger

SET_PROCESS = {
    "inputs": {"amount": {"type": "number", "default": 0}},
    "steps": [{"id": "total", "uses": "set", "with": {"gross": "{{ inputs.amount * 1.2 }}"}}],
    "outputs": {"gross": "{{ steps.total.gross }}"},
}


def quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


@dataclass
class Figure:
    """One measured figure, OpenRuns against the raw baseline."""

    name: str
    unit: str
    openruns: list[float]
    raw: list[float]
    higher_is_better: bool = False
    target: str = ""
    note: str = ""
    # openruns[i] and raw[i] were measured back to back (one round): the ratio is the median
    # of the rounds' ratios, so a machine that slows down or speeds up between rounds (these
    # cores are shared) moves both sides of each ratio instead of one side of the medians.
    paired: bool = False

    def summary(self, q: float = 0.9) -> dict[str, float]:
        return {
            "or_p50": statistics.median(self.openruns),
            "or_pq": quantile(self.openruns, q),
            "raw_p50": statistics.median(self.raw),
            "raw_pq": quantile(self.raw, q),
        }

    @property
    def round_ratios(self) -> list[float]:
        """OpenRuns over raw per round (paired figures only)."""
        return [ours / raw for ours, raw in zip(self.openruns, self.raw, strict=True) if raw]

    @property
    def ratio(self) -> float:
        """OpenRuns over raw: the median of the rounds' ratios when paired, else of medians."""
        if self.paired:
            ratios = self.round_ratios
            return statistics.median(ratios) if ratios else float("nan")
        s = self.summary()
        return s["or_p50"] / s["raw_p50"] if s["raw_p50"] else float("nan")


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)
    # CPU ms per run during the throughput bursts: {"OpenRuns"|"raw": {part: median ms}}
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    # where a latency run's time went: {"OpenRuns"|"raw": {segment: median ms}}
    latency_split: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


async def create_process(api: Api, definition: dict[str, Any]) -> str:
    response = await api.post(
        "/v2/processes", json={"name": f"bench-{uuid.uuid4().hex[:8]}", "definition": definition}
    )
    response.raise_for_status()
    process_id: str = response.json()["id"]
    (await api.post(f"/v2/processes/{process_id}/publish")).raise_for_status()
    return process_id


async def openruns_run(api: Api, process_id: str, amount: float) -> str:
    """Start a run and wait for its outputs: ``POST /v2/runs?wait=`` (then ``GET ?wait=``
    should the run still be going when the first wait ends); the run's id."""
    response = await api.post(
        "/v2/runs",
        params={"wait": 30},
        json={"process_id": process_id, "stage": "Published", "inputs": {"amount": amount}},
    )
    response.raise_for_status()
    run = response.json()
    while run["state"] in ("Pending", "Running"):
        run = (await api.get(f"/v2/runs/{run['id']}", params={"wait": 30})).json()
    if run["state"] != "Succeeded":
        raise RuntimeError(f"run {run['id']} ended {run['state']}: {run.get('error')}")
    return str(run["id"])


async def raw_run(client: Client, amount: float) -> str:
    workflow_id = f"raw-{uuid.uuid4()}"
    await client.execute_workflow(
        RawBenchWorkflow.run, {"amount": amount}, id=workflow_id, task_queue=RAW_TASK_QUEUE
    )
    return workflow_id


SEGMENTS = {
    "request → started": "the front door: from sending the request to the start event",
    "started → first task": "Temporal dispatching the first workflow task to the worker",
    "first task": "the worker's first workflow task, as the server saw it",
    "task → closed": "from that task's completion to the close event",
    "closed → answer": "from the close event to the caller having the answer",
}


def time_split(events: Sequence[HistoryEvent], sent: float, answered: float) -> dict[str, float]:
    """Where one run's time went (ms), from its history's event times and the caller's wall
    clock (``time.time()``) when it sent the request and when it had the answer."""

    def at(event: HistoryEvent) -> float:
        return event.event_time.ToDatetime(dt.UTC).timestamp()

    first_task = next(
        e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    )
    task_done = next(
        e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    marks = [sent, at(events[0]), at(first_task), at(task_done), at(events[-1]), answered]
    return {
        name: (end - start) * 1000
        for name, start, end in zip(SEGMENTS, marks, marks[1:], strict=False)
    }


async def _split_medians(client: Client, runs: list[tuple[str, float, float]]) -> dict[str, float]:
    splits = []
    for workflow_id, sent, answered in runs:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        splits.append(time_split(history.events, sent, answered))
    return {name: statistics.median(s[name] for s in splits) for name in SEGMENTS}


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def latency(
    api: Api, client: Client, process_id: str, n: int, results: Results | None = None
) -> Figure:
    """Trigger → Succeeded, sequential; OpenRuns and raw alternate so noise hits both. With
    ``results``, also where each side's time went (``results.latency_split``)."""
    for _ in range(5):  # warm up both paths
        await openruns_run(api, process_id, 1)
        await raw_run(client, 1)
    ours: list[float] = []
    raw: list[float] = []
    runs: dict[str, list[tuple[str, float, float]]] = {"OpenRuns": [], "raw": []}
    for i in range(n):
        for side, call, times in (
            ("OpenRuns", functools.partial(openruns_run, api, process_id, i), ours),
            ("raw", functools.partial(raw_run, client, i), raw),
        ):
            sent, started = time.time(), time.perf_counter()
            workflow_id = await call()
            times.append((time.perf_counter() - started) * 1000)
            runs[side].append((workflow_id, sent, time.time()))
    if results is not None:
        results.latency_split = {side: await _split_medians(client, r) for side, r in runs.items()}
    return Figure(
        "Latency: trigger → Succeeded (one `set` step)", "ms", ours, raw, target="p50 ≤ 1.2× raw"
    )


async def _settle(
    client: Client, query: str, n: int, timeout: float = 120, interval: float = 0.5
) -> int:
    """Wait (up to ``timeout`` s) until ``n`` workflows match ``query``; how many did."""
    deadline = time.monotonic() + timeout
    while (count := (await client.count_workflows(query)).count) < n:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(interval)
    return count


async def _wait_count(client: Client, query: str, n: int, timeout: float = 600) -> None:
    """Like ``_settle``, but fewer than ``n`` after ``timeout`` s is an error."""
    if await _settle(client, query, n, timeout) < n:
        raise TimeoutError(f"fewer than {n} workflows match {query!r} after {timeout}s")


async def _last_close(client: Client, query: str) -> float:
    """When the last workflow matching ``query`` closed, on the perf_counter clock. A burst's
    completion time comes from the server's close times, so how often the bench looks does not
    matter: a count over a visibility store of thousands of runs costs the server 5–12 ms of
    CPU (measured), and polled every 50 ms while a burst drained it took a tenth of a core from
    the system under test, more in later rounds (the store grows) and more on the side that
    drains longer. The bench now looks every 0.5 s."""
    last = max([e.close_time async for e in client.list_workflows(query) if e.close_time])
    return last.timestamp() - (time.time() - time.perf_counter())


def _raw_starter(client: Client, batch: str) -> Callable[[int], Awaitable[Any]]:
    """Start the i-th raw baseline workflow of ``batch`` (ids ``raw-<batch>-<i>``)."""

    async def start(i: int) -> None:
        await client.start_workflow(
            RawBenchWorkflow.run, {"amount": i}, id=f"raw-{batch}-{i}", task_queue=RAW_TASK_QUEUE
        )

    return start


async def _burst(n: int, concurrency: int, start_one: Callable[[int], Awaitable[Any]]) -> float:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            await start_one(i)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return started


# Where a run's CPU goes, per side: the processes that do its work (the bench process is the
# load generator: the raw client's starts, or the HTTP requests to the API).
CPU_PARTS = {
    "OpenRuns": {"Temporal server": "temporal", "worker": "worker", "API": "api"},
    "raw": {"Temporal server": "temporal", "worker": "raw-worker"},
}


def _cpu_now(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()} | {
        "load generator": time.process_time()
    }


def _cpu_per_run(
    side: str, before: dict[str, float], after: dict[str, float], n: int
) -> dict[str, float]:
    parts = {part: after[name] - before[name] for part, name in CPU_PARTS[side].items()}
    parts["load generator"] = after["load generator"] - before["load generator"]
    per_run = {part: seconds * 1000 / n for part, seconds in parts.items()}
    per_run["total"] = sum(per_run.values())
    return per_run


async def throughput(
    api: Api,
    client: Client,
    n: int,
    concurrency: int,
    rounds: int,
    pids: dict[str, int],
    cpu: dict[str, dict[str, float]],
) -> tuple[Figure, Figure]:
    """n runs triggered at bounded concurrency: starts/s and completions/s. Raw and OpenRuns
    bursts alternate (ABBA…) for ``rounds`` rounds each, so a noisy neighbour hits both, and
    each round's ratio compares two bursts that ran back to back. A warm-up round (a fifth of
    ``n`` each, not counted) goes first: the first burst on a fresh server tends to be the
    fastest of a run (three experiments of four: 152, 155 and 123 starts/s where the raw
    bursts after it made 82–137), and it would always be raw's. Each OpenRuns burst runs a
    process of its own, so its query finds that burst's runs only, as raw's workflow-id prefix
    does; a burst's completion time is its last run's close time (see ``_last_close``).
    ``cpu`` receives each side's median CPU ms per run, by process."""

    async def one_burst(kind: str, size: int = n) -> tuple[float, float, dict[str, float]]:
        batch = uuid.uuid4().hex[:8]
        if kind == "raw":
            start = _raw_starter(client, batch)
            query = f"WorkflowId STARTS_WITH 'raw-{batch}-'"
        else:
            process_id = await create_process(api, SET_PROCESS)

            async def start(i: int) -> None:
                response = await api.post(
                    "/v2/runs",
                    json={"process_id": process_id, "stage": "Published", "inputs": {"amount": i}},
                )
                response.raise_for_status()

            query = f"ProcessId = '{process_id}'"
        cpu_before = _cpu_now(pids)
        began = await _burst(size, concurrency, start)
        started_all = time.perf_counter()
        completed = f"{query} AND ExecutionStatus = 'Completed'"
        await _wait_count(client, completed, size)
        per_run = _cpu_per_run(kind, cpu_before, _cpu_now(pids), size)
        done = await _last_close(client, completed)
        return size / (started_all - began), size / (done - began), per_run

    rates: dict[str, list[tuple[float, float, dict[str, float]]]] = {"raw": [], "OpenRuns": []}
    warm_up = max(n // 5, 1)
    for kind in ("raw", "OpenRuns"):
        await one_burst(kind, warm_up)
    for round_ in range(rounds):
        order = ("raw", "OpenRuns") if round_ % 2 == 0 else ("OpenRuns", "raw")
        for kind in order:
            rates[kind].append(await one_burst(kind))
    for side, side_rates in rates.items():
        bursts = [r[2] for r in side_rates]
        cpu[side] = {part: statistics.median(b[part] for b in bursts) for part in bursts[0]}
    label = f"({n} runs × {rounds} rounds of raw + OpenRuns bursts, concurrency {concurrency})"
    starts = Figure(
        f"Throughput: starts/s {label}",
        "runs/s",
        [r[0] for r in rates["OpenRuns"]],
        [r[0] for r in rates["raw"]],
        higher_is_better=True,
        target="≥ 0.8× raw",
        paired=True,
    )
    completions = Figure(
        f"Throughput: completions/s {label}",
        "runs/s",
        [r[1] for r in rates["OpenRuns"]],
        [r[1] for r in rates["raw"]],
        higher_is_better=True,
        target="≥ 0.8× raw",
        paired=True,
    )
    return starts, completions


async def email(
    api: Api, client: Client, port: int, n: int, connections: int
) -> tuple[Figure, int]:
    """n messages over `connections` SMTP connections: accepted-and-started per second, against
    the raw client starting as many workflows at the same concurrency. Two rounds of half the
    messages, raw and OpenRuns alternating (raw first, then OpenRuns first), and every burst's
    runs finish before the next burst begins: neither side pays for the other's backlog, and
    whatever the scenarios before left behind hits both. Every message's run is counted."""
    process_id = await create_process(api, SET_PROCESS)
    trigger = (await api.get(f"/v2/processes/{process_id}/email-trigger")).json()
    address = trigger["address"]
    tag = uuid.uuid4().hex[:8]
    completed = f"ProcessId = '{process_id}' AND ExecutionStatus = 'Completed'"
    accepted = 0

    async def openruns_burst(messages: range) -> float:
        nonlocal accepted
        chunks = [
            build_messages(address, messages[i::connections], tag) for i in range(connections)
        ]
        began = time.perf_counter()
        sent = sum(await asyncio.gather(*(send_all(port, address, c) for c in chunks)))
        elapsed = time.perf_counter() - began
        accepted += sent
        await _settle(client, completed, accepted)
        return sent / elapsed

    async def raw_burst(size: int) -> float:
        batch = uuid.uuid4().hex[:8]

        began = await _burst(size, connections, _raw_starter(client, batch))
        rate = size / (time.perf_counter() - began)
        raw_done = f"WorkflowId STARTS_WITH 'raw-{batch}-' AND ExecutionStatus = 'Completed'"
        await _settle(client, raw_done, size)
        return rate

    ours: list[float] = []
    raw: list[float] = []
    halves = (range(0, n // 2), range(n // 2, n))
    for round_, messages in enumerate(halves):
        if round_ % 2 == 0:
            raw.append(await raw_burst(len(messages)))
            ours.append(await openruns_burst(messages))
        else:
            ours.append(await openruns_burst(messages))
            raw.append(await raw_burst(len(messages)))
    runs = (await client.count_workflows(f"ProcessId = '{process_id}'")).count
    figure = Figure(
        f"Email: accepted-and-started/s ({n} messages, {connections} connections, 2 rounds)",
        "msg/s",
        ours,
        raw,
        higher_is_better=True,
        target="≥ 0.5× raw start rate, 0 lost",
        note=f"({runs} runs for {n} messages: {n - runs} lost)",
        paired=True,
    )
    return figure, n - runs


async def load_runs(client: Client, process_id: str, n: int, concurrency: int = 64) -> None:
    """n OpenRuns runs (real ProcessRunWorkflow executions with the run search attributes)
    on a queue nobody polls, terminated at once: listing does not depend on who ran them."""
    run_input = ProcessRunInput(
        process_id=process_id,
        process_name="listing",
        stage=Stage.PUBLISHED,
        revision=1,
        definition=SET_PROCESS,
        trigger=Trigger.API,
        name="listing load",
    )
    options = start_options(run_input)

    async def one(i: int) -> None:
        handle = await client.start_workflow(
            "ProcessRunWorkflow",
            run_input,
            id=f"run-load-{uuid.uuid4().hex}",
            task_queue="bench-nobody-polls",
            **options,
        )
        await handle.terminate("benchmark load")

    await _burst(n, concurrency, one)


async def listing(
    api: Api, client: Client, queries: dict[str, tuple[dict[str, str], str]], n: int
) -> list[Figure]:
    """GET /v2/runs (page of 50) against the raw list_workflows of the same visibility query."""
    figures = []
    for label, (params, query) in queries.items():

        async def ours(params: dict[str, str] = params) -> None:
            response = await api.get("/v2/runs", params={"limit": 50, **params})
            response.raise_for_status()

        async def raw(query: str = query) -> None:
            iterator = client.list_workflows(query, page_size=50)
            await iterator.fetch_next_page()

        for _ in range(3):
            await ours()
            await raw()
        ours_ms, raw_ms = [], []
        for _ in range(40):
            ours_ms.append(await timed(ours))
            raw_ms.append(await timed(raw))
        figures.append(
            Figure(
                f"Listing {label} at {n:,} runs (page of 50)",
                "ms",
                ours_ms,
                raw_ms,
                target="p95 ≤ 50 ms, flat from 1k to 100k",
            )
        )
    return figures
