"""Real replicas for the scale-out tests: ``openruns api`` and ``openruns worker`` subprocesses
sharing one Temporal and one PostgreSQL, configured only through ``OPENRUNS_*`` variables, as
the containers of docker-compose.yml are."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from tests.helpers import assert_eventually, free_port

OPENRUNS = str(Path(sys.executable).parent / "openruns")
HELLO = {
    "inputs": {"who": {"type": "string", "required": True}},
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello {{ inputs.who }}"}}],
    "outputs": {"greeting": "{{ steps.greet.text }}"},
}


def component_env(**settings: str) -> dict[str, str]:
    """This environment without any outer ``OPENRUNS_*``, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENRUNS_")}
    return {**env, "OPENRUNS_LOG_LEVEL": "WARNING", **settings}


@dataclass
class Replica:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def identity(self) -> str:
        """The Temporal identity of a worker process: the SDK's default ``pid@hostname``."""
        return f"{self.process.pid}@{socket.gethostname()}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} (pid {self.process.pid}) ---\n" + "\n".join(text)


@dataclass
class Replicas:
    env: dict[str, str]
    directory: Path
    apis: list[Replica] = field(default_factory=list)
    workers: list[Replica] = field(default_factory=list)

    def _spawn(self, name: str, command: str, **extra: str) -> Replica:
        log = self.directory / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [OPENRUNS, command],
                env={**self.env, **extra},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Replica(name, process, log)

    def spawn_api(self, name: str) -> Replica:
        port = free_port()
        replica = self._spawn(name, "api", OPENRUNS_API_PORT=str(port))
        replica.port = port
        self.apis.append(replica)
        return replica

    def spawn_worker(self, name: str) -> Replica:
        replica = self._spawn(name, "worker")
        self.workers.append(replica)
        return replica

    def logs(self) -> str:
        return "\n".join(r.tail() for r in [*self.apis, *self.workers])

    async def api_ready(self, replica: Replica) -> None:
        async def health() -> int:
            assert replica.process.poll() is None, self.logs()
            try:
                async with httpx.AsyncClient(timeout=2) as http:
                    return (await http.get(f"{replica.url}/v2/health")).status_code
            except httpx.HTTPError:
                return 0

        await assert_eventually(
            health, lambda code: code == 200, timeout=60, interval=0.2, message=replica.name
        )

    async def worker_ready(self, client: Client, replica: Replica) -> None:
        """Wait until Temporal lists this very process among the task queue's pollers."""

        async def pollers() -> set[str]:
            assert replica.process.poll() is None, self.logs()
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=self.env["OPENRUNS_TASK_QUEUE"]),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            return {p.identity for p in described.pollers}

        await assert_eventually(
            pollers,
            lambda seen: replica.identity in seen,
            timeout=60,
            interval=0.2,
            message=f"{replica.name} ({replica.identity}) polling",
        )

    def stop(self) -> None:
        """SIGTERM everything still running (workers drain), SIGKILL what does not stop."""
        everyone = [*self.apis, *self.workers]
        for replica in everyone:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in everyone:
            try:
                replica.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


@dataclass
class Stack:
    """The replicated stack: its processes and an authenticated client per API replica."""

    replicas: Replicas
    a: httpx.AsyncClient  # api-a
    b: httpx.AsyncClient  # api-b


class _HangOnce(BaseHTTPRequestHandler):
    server: HangOnceServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests += 1
            first = self.server.requests == 1
        if first:
            self.server.first_arrived.set()
            self.server.release.wait(60)  # the caller gets killed meanwhile
            return
        body = b'{"served": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HangOnceServer(ThreadingHTTPServer):
    """Holds the first request open (so its caller is mid-activity); answers the others."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HangOnce)
        self.lock = threading.Lock()
        self.requests = 0
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    async def wait_first(self, timeout: float = 30) -> None:
        arrived = await asyncio.to_thread(self.first_arrived.wait, timeout)
        assert arrived, "the first request never arrived"

    def __enter__(self) -> HangOnceServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()
