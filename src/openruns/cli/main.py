"""``openruns``: run the stack or one component, and manage keys."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import typer

from openruns.cli import schedules
from openruns.cli.failures import CONFIGURATION, FAILED, explain, load_settings
from openruns.cli.runs import runs_app, test_app
from openruns.logs import configure_logging
from openruns.settings import Settings

T = TypeVar("T")

app = typer.Typer(help="OpenRuns: runs of business automations on Temporal.", no_args_is_help=True)
apikey = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(apikey, name="apikey")
app.add_typer(schedules.app, name="schedule")
app.add_typer(runs_app, name="runs")
app.add_typer(test_app, name="test")


def _settings(exit_code: int = CONFIGURATION) -> Settings:
    """The settings (a refused value: a line per variable and ``exit_code``), logging set up."""
    settings = load_settings(exit_code)
    configure_logging(settings)
    return settings


def _exit(code: int = 0) -> NoReturn:
    """Exit without interpreter finalization, once the command's work is done and flushed.

    The Temporal SDK's runtime threads can abort finalization ("PyGILState_Release",
    sdk-python#300), which would turn a clean exit into code 134: a replica's ``openruns
    setup`` failing at random, or a container stopped by SIGTERM reported as crashed.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run_or_fail(work: Coroutine[Any, Any, T], settings: Settings) -> T:
    """Run a command's work; an error a user can act on is one line naming what is wrong and
    exit code 1 or 2 (see ``failures``), not a traceback: a key that does not exist, a data
    directory, database or Temporal that cannot be used, a port that is taken."""
    try:
        return asyncio.run(work)
    except Exception as exc:
        _exit(_report(exc, settings))


def _report(exc: Exception, settings: Settings) -> int:
    """Print the line for an error a user can act on and return its exit code; a bug is
    raised again, traceback and all."""
    explained = explain(exc, settings)
    if explained is None:
        raise exc
    typer.echo(f"error: {explained[0]}", err=True)
    return explained[1]


def _load_plugins(settings: Settings) -> None:
    """Stop with a clear message (exit code 2) when a plugin cannot be loaded."""
    from openruns.plugins import PluginError, load_plugins

    try:
        load_plugins(settings.plugins)
    except PluginError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(CONFIGURATION) from None


@app.command()
def dev() -> None:
    """Start the whole stack on this machine: Temporal + UI, worker, API, SMTP gateway."""
    from openruns.cli.dev import run_dev, with_example_plugins

    settings = load_settings()
    if "OPENRUNS_LOG_FORMAT" not in os.environ:
        settings.log_format = "text"  # make dev: a person reads these lines
    configure_logging(settings)
    settings = with_example_plugins(settings)
    _load_plugins(settings)
    try:
        code = run_dev(settings)
    except Exception as exc:
        code = _report(exc, settings)
    _exit(code)


@app.command()
def worker() -> None:
    """Run a worker on the task queue."""
    from worker import run_worker

    settings = _settings()
    _load_plugins(settings)
    _run_or_fail(run_worker(settings), settings)
    _exit()  # stopped by SIGINT/SIGTERM after a clean shutdown


@app.command()
def api() -> None:
    """Serve the HTTP API (and web UI)."""
    from openruns.cli.api_server import prepare, serve

    settings = _settings()
    _load_plugins(settings)
    sockets = _run_or_fail(prepare(settings), settings)
    started = serve(settings, sockets)
    _exit(0 if started else FAILED)  # stopped by SIGINT/SIGTERM after a clean shutdown


@app.command()
def smtp() -> None:
    """Serve the SMTP gateway: mail to a process's address starts a run."""
    from email_gateway.server import run_gateway

    settings = _settings()
    _run_or_fail(run_gateway(settings), settings)
    _exit()


@app.command()
def setup() -> None:
    """Migrate the database, register Temporal search attributes and create OPENRUNS_API_KEY
    (idempotent)."""
    from openruns.setup import ensure_ready
    from openruns.store import Database
    from openruns.temporal import connect

    settings = _settings()

    async def go() -> None:
        database = Database.from_settings(settings)
        try:
            await ensure_ready(settings, database, await connect(settings))
        finally:
            await database.dispose()

    _run_or_fail(go(), settings)
    typer.echo("ready")
    _exit()


@app.command()
def healthcheck(
    component: str = typer.Argument(
        "", help="What to check on this host: api, worker or smtp.", show_default=False
    ),
) -> None:
    """Exit 0 when COMPONENT on this host is healthy, 1 otherwise (container health checks)."""
    from openruns.healthcheck import Component, Unhealthy, check

    try:
        target = Component(component)
    except ValueError:  # one line and exit 1, not a usage error's 2: Docker reserves 2
        asked = f"no component {component!r}" if component else "which component?"
        typer.echo(f"error: healthcheck: {asked} (api, worker or smtp)", err=True)
        raise typer.Exit(FAILED) from None
    code = 0
    settings = _settings(FAILED)  # a container health check knows 0 and 1 (Docker reserves 2)
    try:
        typer.echo(check(settings, target))
    except Unhealthy as exc:
        typer.echo(f"unhealthy: {exc}", err=True)
        code = 1
    _exit(code)


def _key_settings() -> Settings:
    settings = _settings()
    # The key commands migrate first: say so only when something is wrong.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    return settings


@apikey.command("create")
def apikey_create(name: str = typer.Option("default", help="What the key is for.")) -> None:
    """Create a key and print it (it is shown once; only its hash is stored)."""
    from openruns.cli.keys import create

    settings = _key_settings()
    typer.echo(_run_or_fail(create(settings, name), settings))


@apikey.command("list")
def apikey_list() -> None:
    """List keys (id, name, prefix, created, revoked)."""
    from openruns.cli.keys import list_all

    settings = _key_settings()
    for line in _run_or_fail(list_all(settings), settings):
        typer.echo(line)


@apikey.command("revoke")
def apikey_revoke(key_id: str) -> None:
    """Revoke a key by id; requests with it are refused from now on."""
    from openruns.cli.keys import revoke

    settings = _key_settings()
    _run_or_fail(revoke(settings, key_id), settings)
    typer.echo(f"revoked {key_id}")


if __name__ == "__main__":
    app()
