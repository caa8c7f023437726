"""The OpenRuns worker: polls the task queue and runs the workflows and activities listed here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import py_compile
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.email import EmailActivities
from activities.files import FileActivities
from activities.http import HttpActivities
from activities.http_guard import Destinations, guarded_client
from activities.plugins import plugin_activities
from activities.runs import RunActivities
from activities.secrets import SecretsInterceptor
from openruns.plugins import load_plugins
from openruns.settings import Settings
from openruns.setup import ensure_ready
from openruns.store import Database
from openruns.store.blobs import BlobStore
from openruns.temporal import connect
from workflows.process_run import ProcessRunWorkflow
from workflows.test_suite import TestSuiteWorkflow

log = logging.getLogger("openruns.worker")

WORKFLOWS = [ProcessRunWorkflow, TestSuiteWorkflow]

# Templates run inside workflows: Jinja2 is pure, so it is passed through the sandbox; so are
# the domain package and the modules that hold what a run does (no module state, nothing
# non-deterministic), which would otherwise be imported afresh for every run. The workflow
# classes themselves stay sandboxed.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "jinja2",
        "markupsafe",
        "pydantic",
        "openruns",
        "workflows.run_engine",
        "workflows.child_runs",
    )
)


def _cache_workflow_bytecode() -> None:
    """The sandbox re-imports workflow modules for every run; without bytecode caches (say,
    PYTHONDONTWRITEBYTECODE=1) each re-import compiles the source again, which measured at
    about a fifth of the worker's CPU per run. Write the caches once, up front, for every
    module of the workflows' packages (a sibling such as ``workflows.child_runs`` is
    re-imported too)."""
    directories = set()
    for workflow_class in WORKFLOWS:
        module = sys.modules[workflow_class.__module__]
        if module.__file__:
            directories.add(Path(module.__file__).parent)
    for directory in directories:
        for source in directory.glob("*.py"):
            with contextlib.suppress(OSError, py_compile.PyCompileError):
                py_compile.compile(str(source), doraise=True)


@asynccontextmanager
async def worker_for(
    client: Client, settings: Settings, database: Database
) -> AsyncIterator[Worker]:
    """A worker with every workflow and activity registered, shut down cleanly on exit."""
    _cache_workflow_bytecode()
    load_plugins(settings.plugins)
    destinations = Destinations(settings.http_allow)
    async with guarded_client(destinations) as http_client:
        http = HttpActivities(http_client, destinations)
        runs = RunActivities(database)
        files = FileActivities(database, BlobStore.from_settings(settings))
        email = EmailActivities(settings)
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            activities=[
                http.http_request,
                runs.resolve_run,
                files.read_file,
                email.send_email,
                *plugin_activities(),
            ],
            workflow_runner=SANDBOX,
            interceptors=[SecretsInterceptor()],  # secrets' values reach activities only
            # A bug in a run fails that run instead of retrying its workflow task forever.
            workflow_failure_exception_types=[Exception],
            graceful_shutdown_timeout=timedelta(seconds=10),
        )
        async with worker:
            yield worker


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then finish in-flight tasks and exit."""
    client = await connect(settings)
    database = Database.from_settings(settings)
    if settings.auto_setup:
        await ensure_ready(settings, database, client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with worker_for(client, settings, database):
            log.info(
                "worker polling task queue %r on %s", settings.task_queue, settings.temporal_target
            )
            await stop.wait()
    finally:
        await database.dispose()


def main() -> None:
    """``python worker.py``: ``openruns worker`` (its one-line errors and exit codes too)."""
    from openruns.cli.main import app

    app(["worker"])


if __name__ == "__main__":
    main()
