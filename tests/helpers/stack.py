"""The stack as separate processes, for fault tests: a Temporal dev server on a SQLite file,
``openruns worker``, ``openruns api`` and (on request) ``openruns smtp``, each on free ports,
each killable and restartable."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from openruns.devstack import Stack, temporal_server_command, wait_for_port, wait_for_temporal
from openruns.settings import Settings
from openruns.setup import ensure_ready
from openruns.store import Database
from openruns.temporal import connect
from tests.helpers import free_port

OPENRUNS = str(Path(sys.executable).parent / "openruns")


def isolated_settings(workdir: Path, task_queue: str, **overrides: Any) -> Settings:
    """Settings for a stack of this workdir's own: every port free, its own task queue."""
    return Settings(
        data_dir=workdir,
        temporal_port=free_port(),
        temporal_ui_port=free_port(),
        api_port=free_port(),
        smtp_port=free_port(),
        task_queue=task_queue,
        **overrides,
    )


def stack_env(settings: Settings) -> dict[str, str]:
    """What a child ``openruns`` component needs to join that stack (setup is done already)."""
    return {
        "OPENRUNS_DATA_DIR": str(settings.data_dir),
        "OPENRUNS_TEMPORAL_ADDRESS": settings.temporal_target,
        "OPENRUNS_API_PORT": str(settings.api_port),
        "OPENRUNS_SMTP_PORT": str(settings.smtp_port),
        "OPENRUNS_TASK_QUEUE": settings.task_queue,
        "OPENRUNS_AUTO_SETUP": "false",
    }


class ProcessStack:
    """Temporal, worker and API as child processes; logs in ``workdir/<name>.log``."""

    def __init__(self, workdir: Path, api_key: str) -> None:
        self.workdir, self.api_key = workdir, api_key
        self.settings = isolated_settings(workdir, "faults", api_key=api_key)
        self.env = {
            **stack_env(self.settings),
            "OPENRUNS_API_KEY": api_key,
            "OPENRUNS_HTTP_ALLOW": "127.0.0.1",
            "OPENRUNS_LOG_FORMAT": "json",
            "OPENRUNS_LOG_LEVEL": "INFO",
        }
        self.stack = Stack()
        self.client: Client | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.api_url, headers={"x-api-key": self.api_key}, timeout=30
        )

    def running(self, name: str) -> bool:
        process = self.stack.processes.get(name)
        return process is not None and process.poll() is None

    async def start_temporal(self) -> None:
        command = temporal_server_command(self.settings, "--headless")
        self.stack.spawn("temporal", command, log=self.workdir / "temporal.log")
        await asyncio.to_thread(wait_for_port, self.settings.temporal_port, 60)
        await wait_for_temporal(self.settings)

    async def start(self) -> None:
        """Start whatever is not running (Temporal first, then set-up, worker and API)."""
        if not self.running("temporal"):
            await self.start_temporal()
        if self.client is None:
            database = Database.from_settings(self.settings)
            try:
                self.client = await connect(self.settings)
                await ensure_ready(self.settings, database, self.client)
            finally:
                await database.dispose()
        if not self.running("worker"):
            self.spawn("worker")
        if not self.running("api"):
            self.spawn("api")
            await asyncio.to_thread(wait_for_port, self.settings.api_port, 60)
        if "smtp" in self.stack.processes and not self.running("smtp"):
            await self.start_gateway()

    async def start_gateway(self) -> None:
        """Start ``openruns smtp`` (from then on ``start`` keeps it running too)."""
        self.spawn("smtp")
        await asyncio.to_thread(wait_for_port, self.settings.smtp_port, 60)

    def spawn(self, name: str) -> None:
        self.stack.spawn(name, [OPENRUNS, name], self.env, self.workdir / f"{name}.log")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one component (its whole process group) and wait until it is gone."""
        process = self.stack.processes[name]
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def logs(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.stack.stop()
