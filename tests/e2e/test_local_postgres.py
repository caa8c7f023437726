"""``make test``'s PostgreSQL: the configured server when it answers, else a throw-away server
made from this machine's binaries (tests/helpers/local_postgres.py), as separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.helpers import free_port
from tests.helpers.databases import PG_ADMIN_DSN
from tests.helpers.local_postgres import find_bindir

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

# What the wrapped command does: prove the server takes a new database, report where it was.
PROBE = """
import asyncio, os, sys, asyncpg
async def main():
    dsn = os.environ["OPENRUNS_TEST_PG_DSN"]
    admin = await asyncpg.connect(dsn)
    await admin.execute('CREATE DATABASE "probe"')
    await admin.close()
    print(dsn)
asyncio.run(main())
sys.exit(7)
"""


def wrap(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.helpers.local_postgres", *command],
        cwd=ROOT,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _throwaway_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("openruns-test-pg-*"))


@pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL server binaries here")
def test_nothing_at_the_dsn_starts_a_throwaway_server_and_removes_it() -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    before = _throwaway_dirs()
    result = wrap(sys.executable, "-c", PROBE, OPENRUNS_TEST_PG_DSN=nowhere)

    assert result.returncode == 7, result.stderr  # the command's own exit status
    used = result.stdout.strip()
    assert used.startswith("postgresql://postgres@127.0.0.1:") and used != nowhere
    assert f"No PostgreSQL at {nowhere}: started a throw-away server" in result.stderr
    assert _throwaway_dirs() == before  # its directory is gone, data and all
    gone = subprocess.run(
        [sys.executable, "-c", f"import asyncio, asyncpg; asyncio.run(asyncpg.connect({used!r}))"],
        capture_output=True,
        text=True,
    )
    assert gone.returncode != 0 and "Connect call failed" in gone.stderr, gone.stderr


# A command that takes a while to clean up after Ctrl-C, as pytest does (dev server, workers).
SLOW_TO_STOP = """
import os, pathlib, signal, sys, time
def stop(*_):
    time.sleep(1)
    pathlib.Path(sys.argv[1]).write_text(os.environ["OPENRUNS_TEST_PG_DSN"])
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
pathlib.Path(sys.argv[2]).touch()
time.sleep(60)
"""


@pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL server binaries here")
def test_ctrl_c_lets_the_command_clean_up_then_removes_the_server(tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    cleaned, ready = tmp_path / "cleaned", tmp_path / "ready"
    before = _throwaway_dirs()
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.local_postgres",
         sys.executable, "-c", SLOW_TO_STOP, str(cleaned), str(ready)],
        cwd=ROOT,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "OPENRUNS_TEST_PG_DSN": nowhere},
        start_new_session=True,  # its own process group, as `make test` in a terminal has
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert wrapper.poll() is None and time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)

    os.killpg(wrapper.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    assert wrapper.wait(timeout=60) == 130
    assert cleaned.read_text().startswith("postgresql://postgres@127.0.0.1:")  # it finished
    assert _throwaway_dirs() == before


def test_no_server_and_no_binaries_is_a_clear_error(tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    marker = tmp_path / "ran"
    result = wrap(
        "touch", str(marker), OPENRUNS_TEST_PG_DSN=nowhere, OPENRUNS_TEST_PG_BINDIR=str(tmp_path)
    )
    assert result.returncode == 2
    assert f"nothing answers at {nowhere}" in result.stderr
    assert f"were found in {tmp_path} (OPENRUNS_TEST_PG_BINDIR)" in result.stderr
    assert "apt-get install postgresql" in result.stderr
    assert not marker.exists()


@pytest.mark.postgres
def test_a_server_that_answers_is_used_as_it_is() -> None:
    show = "import os; print(os.environ['OPENRUNS_TEST_PG_DSN'])"
    result = wrap(sys.executable, "-c", show, OPENRUNS_TEST_PG_DSN=PG_ADMIN_DSN)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == PG_ADMIN_DSN and result.stderr == ""


@pytest.mark.postgres
def test_a_server_that_refuses_us_is_reported_not_worked_around(tmp_path: Path) -> None:
    parts = urlsplit(PG_ADMIN_DSN)
    ghost = urlunsplit(parts._replace(netloc=f"no_such_role@{parts.hostname}:{parts.port or 5432}"))
    marker = tmp_path / "ran"
    result = wrap("touch", str(marker), OPENRUNS_TEST_PG_DSN=ghost)
    assert result.returncode == 2
    assert f"PostgreSQL at {ghost} refused the tests" in result.stderr
    assert "no_such_role" in result.stderr  # the server's own reason
    assert not marker.exists()
