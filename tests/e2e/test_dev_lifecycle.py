"""``openruns dev`` as a person meets it: however it ends (the terminal closed, killed outright,
Ctrl-C while it is still starting, a component that cannot start) nothing it started keeps
running or holds a port; a dev API key that was revoked is replaced."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from openruns.devstack import port_in_use
from tests.helpers import free_port
from tests.helpers.stack import OPENRUNS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; dies with its parent"),
]


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (zombies are dead)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(ppid) == pid and state != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class Dev:
    """One ``openruns dev`` on ports of its own, its output in ``log``."""

    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    log: Path
    seen: set[int] = field(default_factory=set)  # every child seen, to clean up after

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def components(self) -> set[int]:
        self.seen |= children(self.process.pid)
        return children(self.process.pid)

    def wait_until(self, ready: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            self.components()
            time.sleep(0.1)

    def key(self) -> str:
        """Wait for the banner and return the dev API key it shows."""
        self.wait_until(lambda: "Press Ctrl-C to stop everything." in self.output())
        match = re.search(r"Dev API key\s+(\S+)", self.output())
        assert match, self.output()
        return match.group(1)

    def assert_all_gone(self, timeout: float = 30) -> None:
        """Every process it started has exited and every port is free."""
        deadline = time.monotonic() + timeout
        while any(alive(pid) for pid in self.seen) or any(map(port_in_use, self.ports.values())):
            assert time.monotonic() < deadline, (
                f"still running: {[p for p in self.seen if alive(p)]}, ports open: "
                f"{[p for p in self.ports.values() if port_in_use(p)]}"
            )
            time.sleep(0.1)


def dev_env(data_dir: Path, ports: dict[str, int], **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k != "OPENRUNS_API_KEY"},
        "OPENRUNS_DATA_DIR": str(data_dir),
        "OPENRUNS_DATABASE_URL": "",
        **{f"OPENRUNS_{name}_PORT": str(port) for name, port in ports.items()},
        **extra,
    }


@pytest.fixture
def start_dev(tmp_path: Path) -> Iterator[Callable[..., Dev]]:
    started: list[Dev] = []

    def start(**env: str) -> Dev:
        ports = {name: free_port() for name in ("API", "SMTP", "TEMPORAL", "TEMPORAL_UI")}
        log = tmp_path / f"dev-{len(started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [OPENRUNS, "dev"],
                env=dev_env(tmp_path / "data", ports, **env),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(Dev(process, ports, log))
        return started[-1]

    yield start
    for dev in started:  # whatever a failed test left behind, by pid
        if dev.process.poll() is None:
            dev.components()
            dev.process.send_signal(signal.SIGINT)
            try:
                dev.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                dev.process.kill()
        for pid in dev.seen:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_closing_the_terminal_stops_everything(start_dev: Callable[..., Dev]) -> None:
    dev = start_dev()
    dev.key()
    assert len(dev.components()) == 4  # temporal, worker, api, smtp
    dev.process.send_signal(signal.SIGHUP)
    assert dev.process.wait(timeout=60) == 0
    assert "stopping OpenRuns" in dev.output()
    dev.assert_all_gone()


def test_killing_openruns_dev_takes_its_components_with_it(
    start_dev: Callable[..., Dev],
) -> None:
    dev = start_dev()
    dev.key()
    assert len(dev.components()) == 4
    dev.process.kill()  # no chance to stop anything itself
    dev.process.wait(timeout=10)
    dev.assert_all_gone()


def test_ctrl_c_while_starting_stops_at_once(start_dev: Callable[..., Dev]) -> None:
    dev = start_dev()
    dev.wait_until(lambda: port_in_use(dev.ports["TEMPORAL"]))  # Temporal is up, the rest not
    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(timeout=15) == 0
    assert "OpenRuns is running" not in dev.output()
    assert "stopping OpenRuns" in dev.output()
    dev.assert_all_gone()


def test_a_component_that_cannot_start_stops_the_stack_at_once(
    start_dev: Callable[..., Dev],
) -> None:
    started = time.monotonic()
    dev = start_dev(OPENRUNS_SMTP_HOST="192.0.2.1")  # TEST-NET-1: not an address of this host
    assert dev.process.wait(timeout=100) == 1
    assert time.monotonic() - started < 45, "waited for the gateway's port, not for the gateway"
    assert re.search(r"^smtp exited with code \d+; stopping$", dev.output(), re.M), dev.output()
    assert "TimeoutError" not in dev.output() and "OpenRuns is running" not in dev.output()
    dev.assert_all_gone()


def test_a_revoked_dev_key_is_replaced(tmp_path: Path, start_dev: Callable[..., Dev]) -> None:
    data_dir = tmp_path / "data"

    def openruns(*args: str) -> str:
        env = dev_env(data_dir, {}, OPENRUNS_LOG_LEVEL="WARNING")
        done = subprocess.run([OPENRUNS, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    revoked = openruns("apikey", "create", "--name", "dev").strip()
    key_id = openruns("apikey", "list").split("\t")[0]
    openruns("apikey", "revoke", key_id)
    (data_dir / "dev-api-key").write_text(revoked + "\n")  # what an earlier `make dev` saved

    dev = start_dev()
    key = dev.key()
    assert key != revoked
    assert f"the dev API key in {data_dir / 'dev-api-key'} was revoked; made a new one" in (
        dev.output()
    )
    assert (data_dir / "dev-api-key").read_text() == key + "\n"
    api = f"http://127.0.0.1:{dev.ports['API']}"
    assert httpx.get(f"{api}/v2/processes", headers={"x-api-key": key}).status_code == 200
    assert httpx.get(f"{api}/v2/processes", headers={"x-api-key": revoked}).status_code == 401
