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


def _settings() -> Settings:
    settings = Settings()
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


def _run_or_fail(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work; an error a user can act on is one line and exit code 1, not a
    traceback (a key that does not exist, a database or Temporal that cannot be reached)."""
    from sqlalchemy.exc import SQLAlchemyError
    from temporalio.service import RPCError

    from openruns.errors import OpenRunsError

    try:
        return asyncio.run(work)
    except OpenRunsError as exc:
        message = exc.message
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        message = f"the metadata store cannot be used: {reason}"
    except (RPCError, RuntimeError, OSError) as exc:  # RuntimeError: the client cannot connect
        message = f"Temporal cannot be reached: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    typer.echo(f"error: {message}", err=True)
    _exit(1)


def _load_plugins(settings: Settings) -> None:
    """Stop with a clear message (exit code 2) when a plugin cannot be loaded."""
    from openruns.plugins import PluginError, load_plugins

    try:
        load_plugins(settings.plugins)
    except PluginError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def dev() -> None:
    """Start the whole stack on this machine: Temporal + UI, worker, API, SMTP gateway."""
    from openruns.cli.dev import run_dev, with_example_plugins

    settings = Settings()
    if "OPENRUNS_LOG_FORMAT" not in os.environ:
        settings.log_format = "text"  # make dev: a person reads these lines
    configure_logging(settings)
    settings = with_example_plugins(settings)
    _load_plugins(settings)
    _exit(run_dev(settings))


@app.command()
def worker() -> None:
    """Run a worker on the task queue."""
    from worker import run_worker

    settings = _settings()
    _load_plugins(settings)
    asyncio.run(run_worker(settings))
    _exit()  # stopped by SIGINT/SIGTERM after a clean shutdown


@app.command()
def api() -> None:
    """Serve the HTTP API (and web UI)."""
    import uvicorn

    from api import create_app

    settings = _settings()
    _load_plugins(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        timeout_keep_alive=settings.api_keep_alive_seconds,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep configure_logging's handler: JSON lines, secrets redacted
        access_log=False,  # RequestLog writes one structured line per request instead
    )
    _exit()  # uvicorn has shut down cleanly (it exits by itself when it cannot start)


@app.command()
def smtp() -> None:
    """Serve the SMTP gateway: mail to a process's address starts a run."""
    from email_gateway.server import run_gateway

    asyncio.run(run_gateway(_settings()))
    _exit()


@app.command()
def setup() -> None:
    """Migrate the database, register Temporal search attributes and create OPENRUNS_API_KEY
    (idempotent)."""
    from openruns.setup import ensure_ready
    from openruns.store import Database
    from openruns.temporal import connect

    async def go() -> None:
        settings = _settings()
        database = Database.from_settings(settings)
        try:
            await ensure_ready(settings, database, await connect(settings))
        finally:
            await database.dispose()

    _run_or_fail(go())
    typer.echo("ready")
    _exit()


@app.command()
def healthcheck(
    component: str = typer.Argument(..., help="What to check on this host: api, worker or smtp."),
) -> None:
    """Exit 0 when COMPONENT on this host is healthy, 1 otherwise (container health checks)."""
    from openruns.healthcheck import Component, Unhealthy, check

    try:
        target = Component(component)
    except ValueError:
        raise typer.BadParameter("one of: api, worker, smtp", param_hint="COMPONENT") from None
    code = 0
    try:
        typer.echo(check(_settings(), target))
    except Unhealthy as exc:
        typer.echo(f"unhealthy: {exc}", err=True)
        code = 1
    _exit(code)


@apikey.command("create")
def apikey_create(name: str = typer.Option("default", help="What the key is for.")) -> None:
    """Create a key and print it (it is shown once; only its hash is stored)."""
    from openruns.cli.keys import create

    typer.echo(_run_or_fail(create(_settings(), name)))


@apikey.command("list")
def apikey_list() -> None:
    """List keys (id, name, prefix, created, revoked)."""
    from openruns.cli.keys import list_all

    for line in _run_or_fail(list_all(_settings())):
        typer.echo(line)


@apikey.command("revoke")
def apikey_revoke(key_id: str) -> None:
    """Revoke a key by id; requests with it are refused from now on."""
    from openruns.cli.keys import revoke

    _run_or_fail(revoke(_settings(), key_id))
    typer.echo(f"revoked {key_id}")


if __name__ == "__main__":
    app()
