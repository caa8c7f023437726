"""``python -m bench [--quick] [--listing-100k]``: run every scenario, write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import temporalio

from bench import scenarios
from bench.http import Api
from bench.report import write_report
from bench.stack import API_KEY, BenchStack, PeakMemory, machine
from openruns import __version__
from openruns.devstack import temporal_binary
from openruns.services.run_query import RunFilters, build_query
from openruns.states import RunState
from openruns.temporal import connect

log = logging.getLogger("bench")


async def run(args: argparse.Namespace) -> scenarios.Results:
    results = scenarios.Results()
    with tempfile.TemporaryDirectory(prefix="openruns-bench-") as workdir:
        stack = BenchStack(Path(workdir))
        await stack.start()
        try:
            client = await connect(stack.settings)
            api = Api(stack.api_url, API_KEY)
            try:
                await _scenarios(args, stack, client, api, results)
            finally:
                await api.close()
        finally:
            stack.stop()
    return results


async def _scenarios(
    args: argparse.Namespace,
    stack: BenchStack,
    client: object,
    api: Api,
    results: scenarios.Results,
) -> None:
    from temporalio.client import Client

    assert isinstance(client, Client)
    quick = args.quick
    process_id = await scenarios.create_process(api, scenarios.SET_PROCESS)

    log.info("latency")
    n = 20 if quick else 50
    results.figures.append(await scenarios.latency(api, client, process_id, n, results))

    log.info("throughput")
    with PeakMemory(stack.pids()) as memory:
        n, rounds = (200, 2) if quick else (1000, 4)
        results.figures.extend(
            await scenarios.throughput(
                api, client, n, 32, rounds, pids=stack.pids(), cpu=results.cpu
            )
        )
    results.memory = memory.peak

    if stack.has_gateway:
        log.info("email")
        figure, lost = await scenarios.email(
            api, client, stack.settings.smtp_port, 200 if quick else 500, connections=4
        )
        results.figures.append(figure)
        if lost:
            results.notes.append(f"EMAIL LOST {lost} MESSAGES")
    else:
        results.notes.append("Email scenario not run: this build has no `openruns smtp` gateway.")

    log.info("listing")
    # The runs above leave Temporal busy for a while (visibility updates, timers being
    # deleted): let it settle so the first listing figures measure listing, not that backlog.
    await asyncio.sleep(15)
    listing_process = await scenarios.create_process(api, scenarios.SET_PROCESS)
    sizes = [1_000] if quick else [1_000, 10_000]
    if args.listing_100k:
        sizes.append(100_000)
    loaded = (await client.count_workflows("WorkflowType = 'ProcessRunWorkflow'")).count
    for size in sizes:
        if size > loaded:
            started = time.perf_counter()
            # A tenth of the load belongs to the process the filtered listing asks for.
            await scenarios.load_runs(client, listing_process, (size - loaded) // 10)
            await scenarios.load_runs(client, process_id, size - loaded - (size - loaded) // 10)
            log.info("loaded %d runs in %.0fs", size - loaded, time.perf_counter() - started)
            loaded = size
        queries = {
            "default": ({}, build_query(RunFilters())),
            "by process": (
                {"process_id": listing_process},
                build_query(RunFilters(process_id=listing_process)),
            ),
            "by state": (
                {"state": "Succeeded"},
                build_query(RunFilters(states=(RunState.SUCCEEDED,))),
            ),
        }
        results.figures.extend(await scenarios.listing(api, client, queries, size))


def versions() -> dict[str, str]:
    temporal = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "openruns": f"{__version__} ({commit.stdout.strip() or 'unknown'})",
        "python": sys.version.split()[0],
        "temporalio (Python SDK)": temporalio.__version__,
        "temporal CLI": temporal.stdout.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, under 2 minutes")
    parser.add_argument("--listing-100k", action="store_true", help="also list at 100k runs")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()
    results = asyncio.run(run(args))
    write_report(args.out, results, machine(), versions(), args, time.perf_counter() - started)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
