"""Run a command with a PostgreSQL server for the tests, starting a throw-away one if needed.

    python -m tests.helpers.local_postgres COMMAND [ARG ...]

The test suite needs a PostgreSQL server it may create databases on, reached as
``OPENRUNS_TEST_PG_DSN`` (default: the ``postgres`` superuser on 127.0.0.1:5432). When that
answers, COMMAND runs as it is. When nothing listens there, a throw-away server is made from
the PostgreSQL server binaries on this machine (``initdb`` and ``pg_ctl``: on PATH, in
``pg_config --bindir``, in Debian's /usr/lib/postgresql/<version>/bin, or in
``OPENRUNS_TEST_PG_BINDIR``), in a temporary directory, on a free port of 127.0.0.1, with trust
authentication; COMMAND runs with ``OPENRUNS_TEST_PG_DSN`` pointing at it, and the server and its
directory are removed afterwards. PostgreSQL refuses to run as root, so under root the server
runs as the ``postgres`` (or ``nobody``) user. The exit status is COMMAND's.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg

from tests.helpers import free_port

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
NOT_FOUND = """\
The tests need a PostgreSQL server, and there is none:
  - nothing answers at {dsn} (OPENRUNS_TEST_PG_DSN), and
  - no PostgreSQL server binaries (initdb, pg_ctl) were found{where}.
Start a server and point OPENRUNS_TEST_PG_DSN at a superuser on it, or install the server
binaries (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) and the
tests start a throw-away server themselves."""


class Unusable(Exception):
    """A server answers at the DSN but refuses us: a configuration to fix, not to work around."""


async def _answers(dsn: str) -> bool:
    try:
        connection = await asyncpg.connect(dsn, timeout=5)
    except (OSError, TimeoutError):
        return False  # nothing listens there (or it does not answer): start our own
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Unusable(f"PostgreSQL at {dsn} refused the tests: {exc}") from exc
    await connection.close()
    return True


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are, newest Debian version first; None if nowhere."""
    if chosen := os.environ.get("OPENRUNS_TEST_PG_BINDIR"):
        candidates = [Path(chosen)]
    else:
        candidates = []
        if initdb := shutil.which("initdb"):
            candidates.append(Path(initdb).parent)
        if pg_config := shutil.which("pg_config"):
            result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            if result.returncode == 0:
                candidates.append(Path(result.stdout.strip()))
        debian = Path("/usr/lib/postgresql").glob("*/bin/initdb")
        candidates += [p.parent for p in sorted(debian, key=_version, reverse=True)]
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl")):
            return bindir
    return None


def _run_as() -> str | None:
    """The user the server runs as: ours, unless we are root (which PostgreSQL refuses)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise SystemExit("running as root, and neither a 'postgres' nor a 'nobody' user exists")


def call(argv: list[str], env: dict[str, str] | None = None) -> int:
    """Run ``argv`` to its end and return its exit status (128 + N if signal N killed it).

    Ctrl-C reaches the command from the terminal by itself; we wait for it to clean up (pytest
    stops its dev server and workers) instead of killing it a quarter second later, as
    ``subprocess.call`` would. A SIGTERM to us is passed on, and we still wait.
    """
    child = subprocess.Popen(argv, env=env)
    handlers = (
        signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.signal(signal.SIGTERM, lambda *_: child.terminate()),
    )
    try:
        status = child.wait()
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    return 128 - status if status < 0 else status


class ThrowAwayServer:
    """A PostgreSQL server in a temporary directory, for one command's lifetime."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = _run_as()
        self.directory = Path(tempfile.mkdtemp(prefix="openruns-test-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]], user=self.user, capture_output=True, text=True
        )
        if result.returncode != 0:
            log = self.directory / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise SystemExit(f"{' '.join(args[:2])} failed:\n{result.stderr}{result.stdout}{tail}")

    def start(self) -> None:
        if self.user is not None:
            shutil.chown(self.directory, user=self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-sync")  # fmt: skip
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.directory / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    dsn = os.environ.get("OPENRUNS_TEST_PG_DSN", DEFAULT_DSN)
    try:
        answers = asyncio.run(_answers(dsn))
    except Unusable as exc:
        print(exc, file=sys.stderr)
        return 2
    if answers:
        return call(argv)
    bindir = find_bindir()
    if bindir is None:
        chosen = os.environ.get("OPENRUNS_TEST_PG_BINDIR")
        where = f" in {chosen} (OPENRUNS_TEST_PG_BINDIR)" if chosen else ""
        print(NOT_FOUND.format(dsn=dsn, where=where), file=sys.stderr)
        return 2
    server = ThrowAwayServer(bindir)
    try:
        server.start()
        print(
            f"No PostgreSQL at {dsn}: started a throw-away server from {bindir} at "
            f"{server.dsn} (removed afterwards).",
            file=sys.stderr,
            flush=True,
        )
        return call(argv, env={**os.environ, "OPENRUNS_TEST_PG_DSN": server.dsn})
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
