"""``openruns dev``: the whole stack on one machine, stopped together with Ctrl-C."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

import typer

from openruns.devstack import (
    ComponentExited,
    Stack,
    StopRequested,
    port_in_use,
    temporal_server_command,
    wait_for_port,
    wait_for_temporal,
)
from openruns.errors import OpenRunsError
from openruns.settings import Settings
from openruns.setup import ensure_ready
from openruns.store import Database
from openruns.store.apikeys import RevokedKey, create_key
from openruns.temporal import connect

PLUGINS_ENV = "OPENRUNS_PLUGINS"
EXAMPLE_PLUGINS = "examples.plugins.invoice_tools"


async def _prepare(settings: Settings) -> str:
    """Migrate, register search attributes, and return the dev API key (kept in data_dir)."""
    database = Database.from_settings(settings)
    try:
        await ensure_ready(settings, database, await connect(settings))
        if settings.api_key is not None:
            return settings.api_key.get_secret_value()
        return await _dev_key(settings, database)
    finally:
        await database.dispose()


async def _dev_key(settings: Settings, database: Database) -> str:
    """The key saved in data_dir, or a new one (saved) when there is none or it was revoked."""
    key_file = settings.data_dir / "dev-api-key"
    saved = key_file.read_text().strip() if key_file.exists() else None
    async with database.session() as session:
        try:
            _, key = await create_key(session, "dev", saved or None)
        except RevokedKey:
            _, key = await create_key(session, "dev")
            _say(f"the dev API key in {key_file} was revoked; made a new one")
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


def _say(line: str) -> None:
    """A line on stderr; a closed terminal (SIGHUP) or pipe must not stop us stopping."""
    try:
        typer.echo(line, err=True)
    except OSError:
        pass


def with_example_plugins(settings: Settings) -> Settings:
    """Load the example plugin unless ``OPENRUNS_PLUGINS`` is set (even to nothing)."""
    if PLUGINS_ENV in os.environ:
        return settings
    try:
        found = importlib.util.find_spec(EXAMPLE_PLUGINS) is not None
    except ModuleNotFoundError:
        found = False  # not a checkout: the examples are not installed
    if not found:
        return settings
    return settings.model_copy(update={"plugins": [EXAMPLE_PLUGINS]})


def _banner(settings: Settings, key: str) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    return f"""
OpenRuns is running.
  API           {api}/v2   (docs: {api}/docs)
  Web UI        {api}/ui
  Temporal UI   {settings.temporal_ui_base}
  Temporal      {settings.temporal_target}  (namespace {settings.namespace})
  SMTP gateway  {settings.smtp_host}:{settings.smtp_port}  (addresses @{settings.email_domain})
  Dev API key   {key}
  Plugins       {", ".join(settings.plugins) or "none (OPENRUNS_PLUGINS)"}

Try it:
  curl -s -H 'x-api-key: {key}' {api}/v2/health
Press Ctrl-C to stop everything.
"""


def run_dev(settings: Settings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ports = {
        "Temporal": settings.temporal_port,
        "Temporal UI": settings.temporal_ui_port,
        "API": settings.api_port,
        "SMTP": settings.smtp_port,
    }
    busy = [f"{name} port {port}" for name, port in ports.items() if port_in_use(port)]
    if busy:
        typer.echo(
            f"cannot start: already in use: {', '.join(busy)} (set OPENRUNS_*_PORT)", err=True
        )
        return 1

    stack = Stack()

    def on_signal(signum: int, _frame: object) -> None:
        stack.stop_requested = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # The terminal was closed: stop as for Ctrl-C, not die and leave the children behind. Under
    # nohup (SIGHUP ignored) keep running, as asked.
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, on_signal)
    try:
        try:
            key = _start(settings, stack)
        except StopRequested:
            return 0
        except (ComponentExited, TimeoutError) as exc:
            _say(f"{exc}; stopping")
            return 1
        except OpenRunsError as exc:
            _say(f"error: {exc.message}")
            return 1
        typer.echo(_banner(settings, key), err=False)
        while not stack.stop_requested:
            exited = stack.first_exited()
            if exited:
                _say(f"{exited[0]} exited with code {exited[1]}; stopping")
                return 1
            time.sleep(0.2)
        return 0
    finally:
        _say("stopping OpenRuns…")
        stack.stop()


def _start(settings: Settings, stack: Stack) -> str:
    """Start every component and return the dev API key; gives up (``stack.check()``) as
    soon as a stop is asked for or a component exits."""
    stack.spawn("temporal", temporal_server_command(settings))
    wait_for_port(settings.temporal_port, timeout=60, stack=stack)
    asyncio.run(wait_for_temporal(settings, stack=stack))
    key = asyncio.run(_prepare(settings))
    stack.check()
    openruns = [str(Path(sys.executable).parent / "openruns")]
    child_env = {"OPENRUNS_AUTO_SETUP": "false", PLUGINS_ENV: ",".join(settings.plugins)}
    if "OPENRUNS_LOG_FORMAT" not in os.environ:
        child_env["OPENRUNS_LOG_FORMAT"] = "text"  # a person reads these lines
    for component in ("worker", "api", "smtp"):
        stack.spawn(component, [*openruns, component], child_env)
    wait_for_port(settings.api_port, timeout=60, host=settings.api_host, stack=stack)
    wait_for_port(settings.smtp_port, timeout=60, host=settings.smtp_host, stack=stack)
    return key
