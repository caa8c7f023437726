"""The benchmark's own stack: a Temporal dev server on a fresh SQLite file, the OpenRuns
components and the raw baseline worker, as separate processes (as in production)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from openruns.devstack import Stack, temporal_server_command, wait_for_port, wait_for_temporal
from openruns.setup import ensure_ready
from openruns.store import Database
from openruns.store.apikeys import create_key
from openruns.temporal import connect
from tests.helpers.stack import isolated_settings, stack_env

API_KEY = "ork_bench_key"


class BenchStack:
    def __init__(self, workdir: Path) -> None:
        self.settings = isolated_settings(workdir, "openruns-bench", log_level="WARNING")
        self.stack = Stack()
        self.env = {**stack_env(self.settings), "OPENRUNS_LOG_LEVEL": "WARNING"}
        self.has_gateway = False

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    async def start(self) -> None:
        logs = self.settings.data_dir
        self.stack.spawn(
            "temporal",
            temporal_server_command(self.settings, "--headless"),
            log=logs / "temporal.log",
        )
        wait_for_port(self.settings.temporal_port, timeout=60)
        await wait_for_temporal(self.settings)
        database = Database.from_settings(self.settings)
        await ensure_ready(self.settings, database, await connect(self.settings))
        async with database.session() as session:
            await create_key(session, "bench", API_KEY)
        await database.dispose()

        openruns = str(Path(sys.executable).parent / "openruns")
        self.stack.spawn("worker", [openruns, "worker"], self.env, logs / "worker.log")
        self.stack.spawn("api", [openruns, "api"], self.env, logs / "api.log")
        self.has_gateway = _has_command(openruns, "smtp")
        if self.has_gateway:
            self.stack.spawn("gateway", [openruns, "smtp"], self.env, logs / "gateway.log")
        self.stack.spawn(
            "raw-worker", [sys.executable, "-m", "bench.raw_worker"], self.env, logs / "raw.log"
        )
        wait_for_port(self.settings.api_port, timeout=60)
        if self.has_gateway:
            wait_for_port(self.settings.smtp_port, timeout=60)

    def stop(self) -> None:
        self.stack.stop()

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.stack.processes.items()}


def _has_command(openruns: str, command: str) -> bool:
    result = subprocess.run([openruns, command, "--help"], capture_output=True)
    return result.returncode == 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakMemory:
    """Samples the RSS of named processes every 100 ms; keeps the peak of each."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_mib(pid))
            time.sleep(0.1)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": f"{mem_kib / 1024 / 1024:.0f} GiB",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
